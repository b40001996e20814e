import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { useSelector } from 'react-redux';
import { Link, useNavigate } from 'react-router';
import { fieldErrorsOf } from '../../api/errors.js';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import Field from '../../components/Field.jsx';
import useFields from '../../components/useFields.js';
import SubmitButton from '../../components/SubmitButton.jsx';
import { selectLanguage } from '../../state/preferences.js';
import AuthCard from './AuthCard.jsx';
import EmailField from './EmailField.jsx';
import { useRegisterMutation } from './authApi.js';

export const PASSWORD_MIN_LENGTH = 8;

function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export default function SignUpPage() {
  const { t } = useTranslation('auth');
  const navigate = useNavigate();
  const language = useSelector(selectLanguage);
  const [register, { isLoading, error }] = useRegisterMutation();
  const { values: form, bind } = useFields({ full_name: '', email: '', password: '' });
  const fields = fieldErrorsOf(error);

  async function submit(event) {
    event.preventDefault();
    if (isLoading) return;
    const result = await register({ ...form, language, timezone: browserTimeZone() });
    if (result.data) navigate('/sign-up/check-email', { state: { sentTo: result.data.email } });
  }

  return (
    <AuthCard
      title={t('sign_up.title')}
      footer={
        <>
          {t('sign_up.have_account')} <Link to="/sign-in">{t('sign_up.sign_in_link')}</Link>
        </>
      }
    >
      <ErrorAlert error={error} fieldNames={['full_name', 'email', 'password']} />
      <Form noValidate onSubmit={submit}>
        <Field
          label={t('fields.full_name')}
          autoComplete="name"
          required
          maxLength={200}
          {...bind('full_name')}
          errors={fields.full_name}
        />
        <EmailField {...bind('email')} errors={fields.email} />
        <Field
          label={t('fields.password')}
          type="password"
          autoComplete="new-password"
          required
          {...bind('password')}
          errors={fields.password}
          help={t('sign_up.password_help', { count: PASSWORD_MIN_LENGTH })}
        />
        <SubmitButton busy={isLoading}>{t('sign_up.submit')}</SubmitButton>
      </Form>
    </AuthCard>
  );
}
