/** A submit button that cannot be pressed again while its request is on its way. */
export default function SubmitButton({ busy, children, variant = 'primary', className = '', ...props }) {
  return (
    <button
      type="submit"
      className={`btn btn-${variant} ${className}`.trim()}
      disabled={busy}
      aria-busy={busy || undefined}
      {...props}
    >
      {busy && <span className="spinner-border spinner-border-sm me-2" aria-hidden="true" />}
      {children}
    </button>
  );
}
