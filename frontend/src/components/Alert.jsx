import { useTranslation } from 'react-i18next';

/**
 * A Bootstrap alert. Errors and warnings are announced at once (role alert); news
 * goes inside a LiveRegion placed beforehand. `onClose` adds a close button.
 */
// React 19 passes `ref` as a prop (ErrorAlert uses it to find its form).
export default function Alert({ variant = 'info', onClose, className = '', children, ref }) {
  const { t } = useTranslation();
  const urgent = variant === 'danger' || variant === 'warning';
  return (
    <div
      ref={ref}
      className={`alert alert-${variant}${onClose ? ' alert-dismissible' : ''} ${className}`.trim()}
      role={urgent ? 'alert' : undefined}
    >
      {children}
      {onClose && <button type="button" className="btn-close" aria-label={t('common:close')} onClick={onClose} />}
    </div>
  );
}
