/** Leaves the app for another site (a provider's sign-in page). Its own module, so
 * that tests can watch the browser leave without leaving. */
export function leaveFor(url) {
  window.location.assign(url);
}
