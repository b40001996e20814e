import { beforeAll, describe, expect, it } from 'vitest';
import { startTestI18n } from '../test/i18n.js';
import { describeError, errorMessage, fieldErrorsOf, fieldMessage, unplacedFieldErrors } from './errors.js';

const validation = {
  status: 422,
  data: {
    detail: 'Some fields are invalid.',
    code: 'validation_error',
    errors: [
      { field: 'title', message: 'String should have at most 255 characters', code: 'string_too_long', params: { max_length: 255 } },
      { field: 'email', message: 'value is not a valid email address', code: 'value_error.email', params: {} },
      { field: 'body', message: 'Something odd', code: 'something_new' },
    ],
  },
};

let i18n;
beforeAll(async () => {
  i18n = await startTestI18n('en');
});

describe('describeError', () => {
  it('groups field errors by field, with code and params', () => {
    const described = describeError(validation);
    expect(described.code).toBe('validation_error');
    expect(described.fields.title).toEqual([
      { code: 'string_too_long', params: { max_length: 255 }, message: 'String should have at most 255 characters' },
    ]);
    expect(fieldErrorsOf(validation).email[0].code).toBe('value_error.email');
  });

  it('calls a failure without an HTTP answer a network error', () => {
    expect(describeError({ status: 'FETCH_ERROR', error: 'TypeError: Failed to fetch' }).code).toBe('network_error');
  });

  it('lists the field errors a form has no field for', () => {
    const others = unplacedFieldErrors(describeError(validation), ['title', 'email']);
    expect(others.map((e) => e.code)).toEqual(['something_new']);
  });
});

describe('translation by code, never by the server’s text', () => {
  it('translates field errors with the limits the API gives, in both languages', async () => {
    const [title, email] = [validation.data.errors[0], validation.data.errors[1]];
    expect(fieldMessage(i18n.t, title)).toBe('At most 255 characters.');
    expect(fieldMessage(i18n.t, email)).toMatch(/valid email address/);
    await i18n.changeLanguage('pl');
    expect(fieldMessage(i18n.t, title)).toBe('Najwyżej 255 znaków.');
    await i18n.changeLanguage('en');
  });

  it('falls back to a translated generic message for an unknown code', () => {
    expect(fieldMessage(i18n.t, { code: 'something_new', params: {} })).toBe('This value is not valid.');
    const described = describeError({ status: 409, data: { detail: 'English text', code: 'never_heard_of' } });
    expect(errorMessage(i18n.t, described)).toBe('The request failed. Please try again.');
    const crashed = describeError({ status: 502, data: '<html>Bad gateway</html>' });
    expect(errorMessage(i18n.t, crashed)).toMatch(/on our side/);
  });

  it('finds a feature’s own codes in its namespace', () => {
    const described = describeError({ status: 409, data: { detail: 'x', code: 'invalid_transition' } });
    expect(errorMessage(i18n.t, described)).toMatch(/cannot move to that state/);
    expect(fieldMessage(i18n.t, { code: 'password_too_short', params: { min_length: 8 } })).toBe(
      'Use at least 8 characters.',
    );
  });

  it('says when to try again after a 429, in words', async () => {
    const described = describeError({ status: 429, retryAfter: 120, data: { code: 'rate_limited', detail: 'x' } });
    expect(errorMessage(i18n.t, described)).toBe('Too many attempts. Try again in 2 minutes.');
    await i18n.changeLanguage('pl');
    expect(errorMessage(i18n.t, { ...described, retryAfter: 5 })).toBe('Zbyt wiele prób. Spróbuj ponownie za 5 sekund.');
    expect(errorMessage(i18n.t, { ...described, retryAfter: 3 })).toBe('Zbyt wiele prób. Spróbuj ponownie za 3 sekundy.');
    await i18n.changeLanguage('en');
  });
});
