import { useState } from 'react';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'react-router';
import { fieldErrorsOf } from '../../api/errors.js';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import SubmitButton from '../../components/SubmitButton.jsx';
import AuthCard from './AuthCard.jsx';
import EmailField from './EmailField.jsx';
import { useResendVerificationMutation } from './authApi.js';

/**
 * Right after signing up: look in your inbox (the address comes in the navigation
 * state, never from the URL, so no link can make this page claim anything). Else,
 * e.g. from an expired link: ask for a new one.
 */
export default function CheckEmailPage() {
  const { t } = useTranslation('auth');
  const { sentTo, email: known } = useLocation().state ?? {};
  const [email, setEmail] = useState(sentTo ?? known ?? '');
  const [resend, { isLoading, isSuccess, error }] = useResendVerificationMutation();

  async function submit(event) {
    event.preventDefault();
    if (!isLoading) await resend(email);
  }

  return (
    <AuthCard
      title={t(sentTo ? 'check_email.title' : 'check_email.new_title')}
      footer={<Link to="/sign-in">{t('common:back_to_sign_in')}</Link>}
    >
      {sentTo ? (
        <>
          <p>{t('check_email.sent_to', { email: sentTo })}</p>
          <p className="text-body-secondary small">{t('check_email.not_arrived')}</p>
        </>
      ) : (
        <p>{t('check_email.ask')}</p>
      )}
      <LiveRegion>{isSuccess && <Alert variant="success">{t('check_email.resent')}</Alert>}</LiveRegion>
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
