import Alert from '../../components/Alert.jsx';
import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { useDispatch, useSelector } from 'react-redux';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { fieldErrorsOf } from '../../api/errors.js';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import Field from '../../components/Field.jsx';
import useFields from '../../components/useFields.js';
import SubmitButton from '../../components/SubmitButton.jsx';
import { selectSession, tokenReceived } from '../../state/session.js';
import AuthCard from './AuthCard.jsx';
import EmailField from './EmailField.jsx';
import { useLoginMutation } from './authApi.js';
import { safeNext } from './nextPath.js';

export default function SignInPage() {
  const { t } = useTranslation('auth');
  const dispatch = useDispatch();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const { endReason } = useSelector(selectSession);
  const [login, { isLoading, error }] = useLoginMutation();
  const { values: form, bind } = useFields({ email: params.get('email') ?? '', password: '' });
  const fields = fieldErrorsOf(error);
  const next = safeNext(params.get('next'));

  async function submit(event) {
    event.preventDefault();
    if (isLoading) return;
    const result = await login(form);
    if (result.data) {
      dispatch(tokenReceived(result.data.access_token));
      navigate(next, { replace: true });
    }
  }

  return (
    <AuthCard
      title={t('sign_in.title')}
      footer={
        <>
          {t('sign_in.no_account')} <Link to="/sign-up">{t('sign_in.sign_up_link')}</Link>
        </>
      }
    >
      {endReason === 'expired' && <Alert variant="warning">{t('sign_in.expired')}</Alert>}
      {endReason === 'signed_out_elsewhere' && <Alert variant="info">{t('sign_in.signed_out_elsewhere')}</Alert>}
      <ErrorAlert error={error} fieldNames={['email', 'password']}>
        {error?.data?.code === 'email_not_verified' && (
          <div className="mt-2">
            <Link to="/sign-up/check-email" state={{ email: form.email }}>
              {t('sign_in.resend_link')}
            </Link>
          </div>
        )}
      </ErrorAlert>
      <Form noValidate onSubmit={submit}>
        <EmailField autoComplete="username" {...bind('email')} errors={fields.email} />
        <Field
          label={t('fields.password')}
          type="password"
          autoComplete="current-password"
          required
          {...bind('password')}
          errors={fields.password}
        />
        <div className="d-flex flex-wrap align-items-center justify-content-between gap-2">
          <SubmitButton busy={isLoading}>{t('sign_in.submit')}</SubmitButton>
          <Link to="/forgot-password">{t('sign_in.forgot')}</Link>
        </div>
      </Form>
    </AuthCard>
  );
}
