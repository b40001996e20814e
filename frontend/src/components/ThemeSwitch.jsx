import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { useDispatch, useSelector } from 'react-redux';
import { selectTheme, themeChosen } from '../state/preferences.js';

export default function ThemeSwitch() {
  const { t } = useTranslation();
  const id = useId();
  const dispatch = useDispatch();
  const theme = useSelector(selectTheme) ?? 'system';
  return (
    <div className="d-flex align-items-center gap-2">
      <label htmlFor={id} className="small">
        {t('common:theme.label')}
      </label>
      <select
        id={id}
        className="form-select form-select-sm w-auto"
        value={theme}
        onChange={(event) => dispatch(themeChosen(event.target.value === 'system' ? null : event.target.value))}
      >
        <option value="system">{t('common:theme.system')}</option>
        <option value="light">{t('common:theme.light')}</option>
        <option value="dark">{t('common:theme.dark')}</option>
      </select>
    </div>
  );
}
