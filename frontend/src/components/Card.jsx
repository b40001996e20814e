/** A Bootstrap card with a padded body. */
export default function Card({ className = '', children }) {
  return (
    <div className={`card ${className}`.trim()}>
      <div className="card-body p-3 p-sm-4">{children}</div>
    </div>
  );
}
