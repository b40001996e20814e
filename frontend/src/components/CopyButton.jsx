import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

// The Clipboard API needs a secure origin (https, or localhost), as production has.
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false; // refused or unavailable: the button says so; the text stays selectable
  }
}

/** Copies `text`; says so for a moment, to sighted and screen-reader users alike. */
export default function CopyButton({ text, label, size = 'sm', variant = 'outline-secondary' }) {
  const { t } = useTranslation();
  const [state, setState] = useState('idle');
  useEffect(() => {
    if (state === 'idle') return undefined;
    const timer = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <>
      <button
        type="button"
        className={`btn btn-${size} btn-${variant}`}
        onClick={async () => setState((await copyText(text)) ? 'copied' : 'failed')}
      >
        {state === 'copied' ? t('common:copied') : (label ?? t('common:copy'))}
      </button>
      <span className="visually-hidden" aria-live="polite">
        {state === 'copied' ? t('common:copied') : state === 'failed' ? t('common:copy_failed') : ''}
      </span>
    </>
  );
}
