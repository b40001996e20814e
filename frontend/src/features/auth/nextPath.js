// Where to go after signing in: the page the person was on, if it is one of ours.
export function safeNext(value, fallback = '/boards') {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//')) return fallback;
  if (value.startsWith('/sign-in')) return fallback;
  return value;
}
