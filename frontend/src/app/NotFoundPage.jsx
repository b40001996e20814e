import { useTranslation } from 'react-i18next';
import useDocumentTitle from '../components/useDocumentTitle.js';

export default function NotFoundPage() {
  const { t } = useTranslation();
  useDocumentTitle(t('common:not_found.title'));
  return (
    <>
      <h1 className="h3">{t('common:not_found.title')}</h1>
      <p>{t('common:not_found.text')}</p>
      <a href="/">{t('common:not_found.home')}</a>
    </>
  );
}
