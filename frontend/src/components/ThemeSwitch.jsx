import { useTranslation } from 'react-i18next';
import { useDispatch, useSelector } from 'react-redux';
import { selectTheme, themeChosen } from '../state/preferences.js';
import InlineSelect from './InlineSelect.jsx';

export default function ThemeSwitch() {
  const { t } = useTranslation();
  const dispatch = useDispatch();
  return (
    <InlineSelect
      label={t('common:theme.label')}
      value={useSelector(selectTheme) ?? 'system'}
      onChange={(theme) => dispatch(themeChosen(theme === 'system' ? null : theme))}
      options={['system', 'light', 'dark'].map((theme) => ({ value: theme, label: t(`common:theme.${theme}`) }))}
    />
  );
}
