import { useState } from 'react';
import Alert from '../../components/Alert.jsx';
import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { fieldErrorsOf } from '../../api/errors.js';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import SubmitButton from '../../components/SubmitButton.jsx';
import AuthCard from './AuthCard.jsx';
import EmailField from './EmailField.jsx';
import { useResendVerificationMutation } from './authApi.js';

/** After signing up, or when a link has expired: look in your inbox, or get a new link. */
export default function CheckEmailPage() {
  const { t } = useTranslation('auth');
  const [params] = useSearchParams();
  const [email, setEmail] = useState(params.get('email') ?? '');
  const [resend, { isLoading, isSuccess, error }] = useResendVerificationMutation();

  async function submit(event) {
    event.preventDefault();
    if (!isLoading) await resend(email);
  }

  return (
    <AuthCard
      title={t('check_email.title')}
      footer={<Link to="/sign-in">{t('common:back_to_sign_in')}</Link>}
    >
      <p>
        {params.get('email')
          ? t('check_email.sent_to', { email: params.get('email') })
          : t('check_email.sent')}
      </p>
      <p className="text-body-secondary small">{t('check_email.not_arrived')}</p>
      {isSuccess && (
        <Alert variant="success">
          {t('check_email.resent')}
        </Alert>
      )}
      <ErrorAlert error={error} fieldNames={['email']} />
      <Form noValidate onSubmit={submit}>
        <EmailField
          name="email"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          errors={fieldErrorsOf(error).email}
        />
        <SubmitButton busy={isLoading} variant="outline-primary">
          {t('check_email.resend')}
        </SubmitButton>
      </Form>
    </AuthCard>
  );
}
