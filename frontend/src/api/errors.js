// Turns what RTK Query reports for a failed request into what a screen shows:
// a code to translate (never the server's English sentence), the per-field
// errors, and for a 429 when to try again.

// The errors namespace holds the codes any screen can meet; codes only one
// feature's screens meet live in that feature's namespace, under errors.code and
// errors.field, so the public pages load none of the manager's.
export const ERROR_NAMESPACES = ['errors', 'auth', 'boards', 'tickets'];

function errorKeys(kind, code) {
  return ERROR_NAMESPACES.map((ns) => (ns === 'errors' ? `errors:${kind}.${code}` : `${ns}:errors.${kind}.${code}`));
}

export function describeError(error) {
  if (!error) return null;
  if (typeof error.status !== 'number') {
    return { status: error.status, code: 'network_error', fields: {}, retryAfter: null };
  }
  const body = error.data && typeof error.data === 'object' ? error.data : {};
  const fields = {};
  for (const item of Array.isArray(body.errors) ? body.errors : []) {
    const field = String(item.field ?? 'body');
    (fields[field] ??= []).push({
      code: item.code ?? 'invalid',
      params: item.params ?? {},
      message: item.message,
    });
  }
  return {
    status: error.status,
    code: typeof body.code === 'string' ? body.code : `http_${error.status}`,
    fields,
    retryAfter: error.retryAfter ?? null,
  };
}

/** The translation of a request-level error, in the reader's language. */
export function errorMessage(t, described) {
  if (!described) return '';
  const { code, status, retryAfter } = described;
  if (status === 429 && retryAfter != null) {
    return t('errors:retry_after', { count: retryAfter, time: waitText(t, retryAfter) });
  }
  const fallback = status >= 500 ? 'errors:code.internal_error' : 'errors:code.unknown';
  return t([...errorKeys('code', code), fallback]);
}

/** "30 seconds", "5 minutes", "2 hours" in the reader's language. */
export function waitText(t, seconds) {
  if (seconds < 90) return t('errors:wait.seconds', { count: seconds });
  if (seconds < 90 * 60) return t('errors:wait.minutes', { count: Math.ceil(seconds / 60) });
  return t('errors:wait.hours', { count: Math.ceil(seconds / 3600) });
}

/** The translation of one field error: by code, with the limits the API gives. */
export function fieldMessage(t, fieldError) {
  if (!fieldError) return '';
  // Codes like value_error.email: i18next reads dots as nesting, so the catalog says value_error_email.
  const key = String(fieldError.code).replaceAll('.', '_');
  return t([...errorKeys('field', key), 'errors:field.invalid'], fieldError.params);
}

/** Field errors the form has no field for: shown above the form instead. */
export function unplacedFieldErrors(described, fieldNames) {
  if (!described) return [];
  return Object.entries(described.fields)
    .filter(([field]) => !fieldNames.includes(field))
    .flatMap(([, errors]) => errors);
}

/** The API's errors of each field, by the field's name in the request. */
export function fieldErrorsOf(error) {
  return describeError(error)?.fields ?? {};
}
