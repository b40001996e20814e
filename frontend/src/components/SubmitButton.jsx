/**
 * A submit button that cannot send twice: while its request is on its way it says
 * so (aria-disabled, a spinner) and ignores presses, but keeps the keyboard focus,
 * which a disabled button would drop to the page.
 */
export default function SubmitButton({ busy, children, variant = 'primary', className = '', ...props }) {
  return (
    <button
      type="submit"
      className={`btn btn-${variant}${busy ? ' disabled' : ''} ${className}`.trim()}
      aria-disabled={busy || undefined}
      aria-busy={busy || undefined}
      onClick={(event) => {
        if (busy) event.preventDefault();
      }}
      {...props}
    >
      {busy && <span className="spinner-border spinner-border-sm me-2" aria-hidden="true" />}
      {children}
    </button>
  );
}
