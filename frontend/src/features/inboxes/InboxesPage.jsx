import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { flattenPages } from '../../api/paging.js';
import EmptyState from '../../components/EmptyState.jsx';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import LoadingState from '../../components/LoadingState.jsx';
import useDocumentTitle from '../../components/useDocumentTitle.js';
import ConnectMailbox from './ConnectMailbox.jsx';
import HealthBadge from './HealthBadge.jsx';
import OAuthOutcome from './OAuthOutcome.jsx';
import { signInKind } from './health.js';
import { useListInboxesInfiniteQuery } from './inboxesApi.js';

/** The manager's mailboxes and how each is doing. */
export default function InboxesPage() {
  const { t } = useTranslation('inboxes');
  useDocumentTitle(t('list.title'));
  const inboxes = useListInboxesInfiniteQuery();
  const items = flattenPages(inboxes.data);
  return (
    <>
      <h1 className="h3 mb-3">{t('list.title')}</h1>
      <OAuthOutcome />
      <ConnectMailbox />
      {inboxes.isLoading && <LoadingState />}
      {inboxes.isError && <ErrorAlert error={inboxes.error} />}
      {inboxes.isSuccess && items.length === 0 && (
        <EmptyState title={t('list.empty_title')}>{t('list.empty_text')}</EmptyState>
      )}
      {items.length > 0 && (
        <ul className="list-unstyled" aria-label={t('list.title')}>
          {items.map((inbox) => (
            <Card as="li" className="mb-3" key={inbox.id}>
              <Card.Body className="d-flex flex-wrap align-items-center justify-content-between gap-2">
                <div className="text-break">
                  <h2 className="h5 mb-1">
                    <Link to={`/inboxes/${inbox.id}`}>{inbox.name}</Link>
                  </h2>
                  <div className="text-body-secondary small">
                    {inbox.email_address} · {t(`kind.${signInKind(inbox)}`)}
                  </div>
                </div>
                <HealthBadge inbox={inbox} />
              </Card.Body>
            </Card>
          ))}
        </ul>
      )}
      {inboxes.hasNextPage && (
        <Button
          variant="outline-secondary"
          disabled={inboxes.isFetchingNextPage}
          onClick={() => inboxes.fetchNextPage()}
        >
          {t('common:load_more')}
        </Button>
      )}
    </>
  );
}
