/**
 * A polite live region that is on the page before its message: screen readers
 * announce what appears inside it, which they may not do for an element that
 * arrives already holding its text.
 */
export default function LiveRegion({ children }) {
  return <div role="status">{children}</div>;
}
