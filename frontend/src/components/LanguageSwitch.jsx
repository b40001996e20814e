import { useTranslation } from 'react-i18next';
import { useDispatch, useSelector } from 'react-redux';
import { LANGUAGES, languageChosen, selectLanguage } from '../state/preferences.js';
import InlineSelect from './InlineSelect.jsx';

// Each language's name in itself, so that a reader finds theirs whatever is shown.
export const NATIVE_NAMES = { en: 'English', pl: 'Polski' };

export default function LanguageSwitch() {
  const { t } = useTranslation();
  const dispatch = useDispatch();
  return (
    <InlineSelect
      label={t('common:language')}
      value={useSelector(selectLanguage)}
      onChange={(language) => dispatch(languageChosen(language))}
      options={LANGUAGES.map((code) => ({ value: code, label: NATIVE_NAMES[code], lang: code }))}
    />
  );
}
