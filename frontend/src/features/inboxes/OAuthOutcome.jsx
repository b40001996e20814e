import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';

const REASONS = new Set([
  'access_denied',
  'consent_required',
  'reconnect_needed',
  'imap_failed',
  'wrong_browser',
  'expired',
  'name_taken',
  'not_found',
  'forbidden',
  'not_configured',
  'provider_error',
  'app_rejected',
  'internal_error',
  'invalid_request',
]);

/**
 * What the provider's sign-in came to: the server's callback sends the browser here
 * with `?oauth2=connected|consent_granted|failed&reason=…&detail=…`. Closing it
 * takes the words out of the address, so a reload does not say it again.
 */
export default function OAuthOutcome() {
  const { t } = useTranslation('inboxes');
  const [params, setParams] = useSearchParams();
  const outcome = params.get('oauth2');
  // The good news goes into the live region after it is on the page, so that screen
  // readers announce it.
  const [mounted, setMounted] = useState(false);
  useEffect(() => {
    const next = setTimeout(() => setMounted(true), 0);
    return () => clearTimeout(next);
  }, []);
  const close = () => setParams({}, { replace: true });
  const detail = params.get('detail');
  const details = detail && <p className="mb-0 mt-2 small">{t('outcome.details', { detail })}</p>;
  if (outcome === 'failed') {
    const reason = REASONS.has(params.get('reason')) ? params.get('reason') : 'unknown';
    return (
      <Alert variant="danger" onClose={close}>
        <p className="fw-semibold mb-1">{t('outcome.failed_title')}</p>
        <p className="mb-0">{t(`outcome.reason.${reason}`)}</p>
        {details}
      </Alert>
    );
  }
  if (outcome === 'connected' && params.get('warning') === 'smtp') {
    return (
      <Alert variant="warning" onClose={close}>
        <p className="mb-0">{t('outcome.smtp_warning')}</p>
        {details}
      </Alert>
    );
  }
  return (
    <LiveRegion>
      {mounted && (outcome === 'connected' || outcome === 'consent_granted') && (
        <Alert variant="success" onClose={close}>
          {t(`outcome.${outcome}`)}
        </Alert>
      )}
    </LiveRegion>
  );
}
