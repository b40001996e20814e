import { useEffect, useRef } from 'react';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import LoadingState from '../../components/LoadingState.jsx';
import AuthCard from './AuthCard.jsx';
import { useVerifyEmailMutation } from './authApi.js';

/** The page the verification mail links to: posts the token once and says how it went. */
export default function VerifyEmailPage() {
  const { t } = useTranslation('auth');
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [verify, { isUninitialized, isLoading, isSuccess, data, error }] = useVerifyEmailMutation();
  const sent = useRef(null);

  useEffect(() => {
    // A token works once: never post it twice, even when an effect runs twice.
    if (token && sent.current !== token) {
      sent.current = token;
      verify(token);
    }
  }, [token, verify]);

  const signInLink = `/sign-in${data?.email ? `?email=${encodeURIComponent(data.email)}` : ''}`;
  return (
    <AuthCard title={t('verify.title')}>
      {!token && (
        <Alert variant="danger">
          {t('verify.no_token')}
        </Alert>
      )}
      {token && (isUninitialized || isLoading) && <LoadingState label={t('verify.checking')} />}
      <LiveRegion>{isSuccess && <Alert variant="success">{t('verify.done')}</Alert>}</LiveRegion>
      {isSuccess && (
        <Link className="btn btn-primary" to={signInLink}>
          {t('verify.sign_in')}
        </Link>
      )}
      {error && (
        <>
          <ErrorAlert error={error} />
          <Link to="/sign-up/check-email">{t('verify.new_link')}</Link>
        </>
      )}
    </AuthCard>
  );
}
