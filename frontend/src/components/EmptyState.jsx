/** What a list shows when it has nothing: a sentence and, often, the way to add something. */
export default function EmptyState({ title, children }) {
  return (
    <div className="border rounded-3 p-4 text-center bg-body-tertiary">
      <p className="fw-semibold mb-1">{title}</p>
      {children && <div className="text-body-secondary">{children}</div>}
    </div>
  );
}
