import { useState } from 'react';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { fieldErrorsOf } from '../../api/errors.js';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import Field from '../../components/Field.jsx';
import SubmitButton from '../../components/SubmitButton.jsx';
import AuthCard from './AuthCard.jsx';
import { useConfirmPasswordResetMutation } from './authApi.js';
import { PASSWORD_MIN_LENGTH } from './SignUpPage.jsx';

export default function ResetPasswordPage() {
  const { t } = useTranslation('auth');
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [confirm, { isLoading, isSuccess, error }] = useConfirmPasswordResetMutation();
  const invalidLink = error?.data?.code === 'invalid_token';

  async function submit(event) {
    event.preventDefault();
    if (!isLoading) await confirm({ token, new_password: password });
  }

  return (
    <AuthCard title={t('reset.title')} footer={<Link to="/sign-in">{t('common:back_to_sign_in')}</Link>}>
      {!token && (
        <Alert variant="danger">
          {t('reset.no_token')} <Link to="/forgot-password">{t('reset.new_link')}</Link>
        </Alert>
      )}
      <LiveRegion>{isSuccess && <Alert variant="success">{t('reset.done')}</Alert>}</LiveRegion>
      {isSuccess && (
        <Link className="btn btn-primary" to="/sign-in">
          {t('reset.sign_in')}
        </Link>
      )}
      {token && !isSuccess && (
        <>
          <ErrorAlert error={error} fieldNames={['new_password']}>
            {invalidLink && (
              <div className="mt-2">
                <Link to="/forgot-password">{t('reset.new_link')}</Link>
              </div>
            )}
          </ErrorAlert>
          <Form noValidate onSubmit={submit}>
            <Field
              label={t('fields.new_password')}
              type="password"
              name="new_password"
              autoComplete="new-password"
              required
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              errors={fieldErrorsOf(error).new_password}
              help={t('sign_up.password_help', { count: PASSWORD_MIN_LENGTH })}
            />
            <SubmitButton busy={isLoading}>{t('reset.submit')}</SubmitButton>
          </Form>
        </>
      )}
    </AuthCard>
  );
}
