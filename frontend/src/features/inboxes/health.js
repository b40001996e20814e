/**
 * How an inbox is doing, in one word the list and the page share: its OAuth2 sign-in's
 * status when it has one, else whether its last read failed.
 */
export function inboxHealth(inbox) {
  const status = inbox.oauth2?.status;
  // A sign-in that needs someone is said even for an inbox switched off.
  if (NEEDS_SOMEONE.has(status)) return status;
  if (!inbox.is_active) return 'inactive';
  // Signed in, and yet the last read failed (the server refused the token, …).
  if (status === 'connected') return inbox.last_error ? 'error' : 'connected';
  if (status) return status;
  return inbox.last_error ? 'error' : 'ok';
}

const NEEDS_SOMEONE = new Set(['reconnect_needed', 'consent_required', 'app_rejected']);

const VARIANTS = {
  ok: 'success',
  connected: 'success',
  retrying: 'warning',
  smtp_disabled: 'warning',
  error: 'warning',
  reconnect_needed: 'danger',
  consent_required: 'danger',
  app_rejected: 'danger',
  inactive: 'secondary',
};

export const healthVariant = (health) => VARIANTS[health] ?? 'secondary';

/** Signs in with: "password", "google" or "microsoft". */
export const signInKind = (inbox) => (inbox.oauth2 ? inbox.oauth2.provider : 'password');
