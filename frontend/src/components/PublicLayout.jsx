import { useTranslation } from 'react-i18next';
import LanguageSwitch from './LanguageSwitch.jsx';
import ThemeSwitch from './ThemeSwitch.jsx';

/** The frame of pages for people without an account: no sign-in chrome. */
export default function PublicLayout({ narrow = false, children }) {
  const { t } = useTranslation();
  return (
    <>
      <header className="border-bottom bg-body">
        <div className="container d-flex flex-wrap align-items-center justify-content-between gap-2 py-2">
          <span className="fw-semibold">{t('common:product')}</span>
          <div className="d-flex flex-wrap gap-3">
            <LanguageSwitch />
            <ThemeSwitch />
          </div>
        </div>
      </header>
      <main id="main" className="py-4">
        <div className="container" style={{ maxWidth: narrow ? '28rem' : '48rem' }}>
          {children}
        </div>
      </main>
    </>
  );
}
