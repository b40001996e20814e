import { useState } from 'react';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { fieldErrorsOf } from '../../api/errors.js';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import SubmitButton from '../../components/SubmitButton.jsx';
import AuthCard from './AuthCard.jsx';
import EmailField from './EmailField.jsx';
import { useRequestPasswordResetMutation } from './authApi.js';

export default function ForgotPasswordPage() {
  const { t } = useTranslation('auth');
  const [email, setEmail] = useState('');
  const [request, { isLoading, isSuccess, error }] = useRequestPasswordResetMutation();

  async function submit(event) {
    event.preventDefault();
    if (!isLoading) await request(email);
  }

  return (
    <AuthCard title={t('forgot.title')} footer={<Link to="/sign-in">{t('common:back_to_sign_in')}</Link>}>
      <LiveRegion>{isSuccess && <Alert variant="success">{t('forgot.sent')}</Alert>}</LiveRegion>
      {!isSuccess && (
        <>
          <p className="text-body-secondary">{t('forgot.intro')}</p>
          <ErrorAlert error={error} fieldNames={['email']} />
          <Form noValidate onSubmit={submit}>
            <EmailField
              name="email"
              value={email}
              onChange={(event) => setEmail(event.target.value)}
              errors={fieldErrorsOf(error).email}
            />
            <SubmitButton busy={isLoading}>{t('forgot.submit')}</SubmitButton>
          </Form>
        </>
      )}
    </AuthCard>
  );
}
