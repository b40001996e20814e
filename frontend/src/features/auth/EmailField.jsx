import { useTranslation } from 'react-i18next';
import Field from '../../components/Field.jsx';

/** The email address field every sign-in screen asks for. */
export default function EmailField({ autoComplete = 'email', ...props }) {
  const { t } = useTranslation('auth');
  return <Field label={t('fields.email')} type="email" autoComplete={autoComplete} required {...props} />;
}
