import { useTranslation } from 'react-i18next';

export default function LoadingState({ label }) {
  const { t } = useTranslation();
  return (
    <div className="d-flex align-items-center gap-2 py-4 text-body-secondary" role="status">
      <span className="spinner-border spinner-border-sm" aria-hidden="true" />
      <span>{label ?? t('common:loading')}</span>
    </div>
  );
}
