import { describe, expect, it } from 'vitest';
import { healthVariant, inboxHealth } from './health.js';

const inbox = (fields) => ({ is_active: true, last_error: null, oauth2: null, ...fields });
const signedIn = (status, fields = {}) => inbox({ oauth2: { provider: 'google', status }, ...fields });

describe('how an inbox is doing', () => {
  it('tells a password inbox by its last read', () => {
    expect(inboxHealth(inbox())).toBe('ok');
    expect(inboxHealth(inbox({ last_error: 'refused' }))).toBe('error');
    expect(inboxHealth(inbox({ is_active: false, last_error: 'refused' }))).toBe('inactive');
  });

  it('says a sign-in that needs someone even when the inbox is switched off', () => {
    for (const status of ['reconnect_needed', 'consent_required', 'app_rejected']) {
      expect(inboxHealth(signedIn(status, { is_active: false }))).toBe(status);
      expect(healthVariant(status)).toBe('danger');
    }
    expect(inboxHealth(signedIn('retrying', { is_active: false }))).toBe('inactive');
  });

  it('does not call an inbox whose server refuses its token fine', () => {
    expect(inboxHealth(signedIn('connected'))).toBe('connected');
    expect(inboxHealth(signedIn('connected', { last_error: 'refused the sign-in token' }))).toBe('error');
    expect(healthVariant('error')).toBe('warning');
  });
});
