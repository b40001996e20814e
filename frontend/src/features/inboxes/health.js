/**
 * How an inbox is doing, in one word the list and the page share: its OAuth2 sign-in's
 * status when it has one, else whether its last read failed.
 */
export function inboxHealth(inbox) {
  if (!inbox.is_active) return 'inactive';
  if (inbox.oauth2) return inbox.oauth2.status;
  return inbox.last_error ? 'error' : 'ok';
}

const VARIANTS = {
  ok: 'success',
  connected: 'success',
  retrying: 'warning',
  smtp_disabled: 'warning',
  error: 'warning',
  reconnect_needed: 'danger',
  consent_required: 'danger',
  inactive: 'secondary',
};

export const healthVariant = (health) => VARIANTS[health] ?? 'secondary';

/** Signs in with: "password", "google" or "microsoft". */
export const signInKind = (inbox) => (inbox.oauth2 ? inbox.oauth2.provider : 'password');
