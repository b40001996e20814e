import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { useDispatch, useSelector } from 'react-redux';
import { LANGUAGES, languageChosen, selectLanguage } from '../state/preferences.js';

// Each language's name in itself, so that a reader finds theirs whatever is shown.
export const NATIVE_NAMES = { en: 'English', pl: 'Polski' };

export default function LanguageSwitch() {
  const { t } = useTranslation();
  const id = useId();
  const dispatch = useDispatch();
  const language = useSelector(selectLanguage);
  return (
    <div className="d-flex align-items-center gap-2">
      <label htmlFor={id} className="small">
        {t('common:language')}
      </label>
      <select
        id={id}
        className="form-select form-select-sm w-auto"
        value={language}
        onChange={(event) => dispatch(languageChosen(event.target.value))}
      >
        {LANGUAGES.map((code) => (
          <option key={code} value={code} lang={code}>
            {NATIVE_NAMES[code]}
          </option>
        ))}
      </select>
    </div>
  );
}
