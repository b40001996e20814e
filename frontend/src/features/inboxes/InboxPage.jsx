import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import LoadingState from '../../components/LoadingState.jsx';
import useDocumentTitle from '../../components/useDocumentTitle.js';
import HealthBadge from './HealthBadge.jsx';
import OAuthOutcome from './OAuthOutcome.jsx';
import { signInKind } from './health.js';
import { useGetInboxQuery, useReconnectInboxMutation, useTestInboxMutation } from './inboxesApi.js';
import { leaveFor } from './leave.js';

function When({ value }) {
  const { t, i18n } = useTranslation('inboxes');
  if (!value) return t('detail.never');
  const date = new Date(value);
  return (
    <time dateTime={value}>
      {date.toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'short' })}
    </time>
  );
}

function Reconnect({ inbox }) {
  const { t } = useTranslation('inboxes');
  const [reconnect, state] = useReconnectInboxMutation();
  async function go() {
    const result = await reconnect(inbox.id);
    if (result.data) leaveFor(result.data.authorization_url);
  }
  const provider = t(`kind.${inbox.oauth2.provider}`);
  return (
    <>
      <p className="text-body-secondary">{t('detail.reconnect_help', { provider })}</p>
      {state.error && <ErrorAlert error={state.error} />}
      {/* Only while asking: coming Back from the provider, the page may be the one left. */}
      <Button onClick={go} disabled={state.isLoading}>
        {state.isLoading ? t('detail.reconnecting') : t('detail.reconnect', { provider })}
      </Button>
    </>
  );
}

function ConnectionTest({ inbox }) {
  const { t } = useTranslation('inboxes');
  const [test, state] = useTestInboxMutation();
  return (
    <>
      <Button variant="outline-secondary" onClick={() => test(inbox.id)} disabled={state.isLoading}>
        {state.isLoading ? t('detail.testing') : t('detail.test')}
      </Button>
      {state.error && <ErrorAlert error={state.error} className="mt-3" />}
      <LiveRegion>
        {state.data && (
          <dl className="mt-3 mb-0">
            {['imap', 'smtp'].map((part) => (
              <div key={part}>
                <dt>{t(`detail.${part}`)}</dt>
                <dd className={state.data[part].ok ? 'text-success-emphasis' : 'text-danger-emphasis'}>
                  {state.data[part].ok ? t('detail.works') : state.data[part].error}
                </dd>
              </div>
            ))}
          </dl>
        )}
      </LiveRegion>
    </>
  );
}

/** One inbox: how it signs in, how it is doing, and the way to fix its sign-in. */
export default function InboxPage() {
  const { t } = useTranslation('inboxes');
  const { inboxId } = useParams();
  const id = /^\d{1,18}$/.test(inboxId) ? Number(inboxId) : null;
  const { data: inbox, isLoading, error: fetchError } = useGetInboxQuery(id, { skip: id == null });
  const error = id == null ? { status: 404, data: { code: 'not_found' } } : fetchError;
  useDocumentTitle(inbox ? inbox.name : t('list.title'));
  if (isLoading) return <LoadingState />;
  if (error) {
    return (
      <>
        <OAuthOutcome />
        <ErrorAlert error={error}>
          <div className="mt-2">
            <Link to="/inboxes">{t('detail.back')}</Link>
          </div>
        </ErrorAlert>
      </>
    );
  }
  const grant = inbox.oauth2;
  const problem = grant?.last_error ?? inbox.last_error;
  return (
    <>
      <nav aria-label={t('breadcrumb')} className="small mb-1">
        <Link to="/inboxes">{t('list.title')}</Link>
      </nav>
      <h1 className="h3 text-break">{inbox.name}</h1>
      <p className="text-body-secondary text-break">{inbox.email_address}</p>
      <OAuthOutcome />
      <Card className="mb-4">
        <Card.Body>
          <h2 className="h5">{t('detail.signin_title')}</h2>
          <dl className="row mb-0">
            <dt className="col-sm-4">{t('detail.method')}</dt>
            <dd className="col-sm-8">{t(`kind.${signInKind(inbox)}`)}</dd>
            <dt className="col-sm-4">{t('detail.status')}</dt>
            <dd className="col-sm-8">
              <HealthBadge inbox={inbox} />
            </dd>
            <dt className="col-sm-4">{t('detail.last_polled')}</dt>
            <dd className="col-sm-8">
              <When value={inbox.last_polled_at} />
            </dd>
            {problem && (
              <>
                <dt className="col-sm-4">{t('detail.last_error')}</dt>
                <dd className="col-sm-8 text-break">{problem}</dd>
              </>
            )}
          </dl>
          {grant?.admin_consent_url && (
            <p className="mt-3 mb-0">
              <a href={grant.admin_consent_url} rel="noreferrer">
                {t('detail.consent_link')}
              </a>
            </p>
          )}
        </Card.Body>
      </Card>
      {grant && (
        <Card className="mb-4">
          <Card.Body>
            <h2 className="h5">{t('detail.reconnect_title')}</h2>
            <Reconnect inbox={inbox} />
          </Card.Body>
        </Card>
      )}
      <Card>
        <Card.Body>
          <h2 className="h5">{t('detail.test_title')}</h2>
          <ConnectionTest inbox={inbox} />
        </Card.Body>
      </Card>
    </>
  );
}
