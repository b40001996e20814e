import { useState } from 'react';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import Badge from 'react-bootstrap/Badge';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { flattenPages } from '../../api/paging.js';
import EmptyState from '../../components/EmptyState.jsx';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import LoadingState from '../../components/LoadingState.jsx';
import useDocumentTitle from '../../components/useDocumentTitle.js';
import BoardForm from './BoardForm.jsx';
import PublicLink from './PublicLink.jsx';
import TicketCounts from './TicketCounts.jsx';
import ArchiveButton from './ArchiveButton.jsx';
import { useCreateBoardMutation, useListBoardsInfiniteQuery } from './boardsApi.js';

function BoardCard({ board }) {
  const { t } = useTranslation('boards');
  return (
    <Card as="li" className="mb-3">
      <Card.Body>
        <div className="d-flex flex-wrap align-items-start justify-content-between gap-2 mb-2">
          <h2 className="h5 mb-0">
            <Link to={`/boards/${board.id}`}>{board.name}</Link>{' '}
            {!board.is_active && (
              <Badge bg="" className="text-bg-secondary align-middle">
                {t('archived')}
              </Badge>
            )}
          </h2>
          <ArchiveButton board={board} size="sm" />
        </div>
        {board.description && <p className="text-body-secondary mb-2">{board.description}</p>}
        <TicketCounts counts={board.ticket_counts} />
        {board.is_active && (
          <div className="mt-3">
            <PublicLink board={board} />
          </div>
        )}
      </Card.Body>
    </Card>
  );
}

export default function BoardsPage() {
  const { t } = useTranslation('boards');
  useDocumentTitle(t('list.title'));
  const boards = useListBoardsInfiniteQuery();
  const [create, creation] = useCreateBoardMutation();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState(null);
  const items = flattenPages(boards.data);
  const active = items.filter((b) => b.is_active);
  const archived = items.filter((b) => !b.is_active);

  async function submit(form) {
    const result = await create(form);
    if (result.data) {
      setCreating(false);
      setCreated(result.data.name);
      creation.reset();
    }
  }

  return (
    <>
      <div className="d-flex flex-wrap align-items-center justify-content-between gap-2 mb-3">
        <h1 className="h3 mb-0">{t('list.title')}</h1>
        {!creating && (
          <Button onClick={() => { setCreating(true); setCreated(null); }}>{t('list.new')}</Button>
        )}
      </div>
      <LiveRegion>
        {created && (
          <Alert variant="success" onClose={() => setCreated(null)}>
            {t('list.created', { name: created })}
          </Alert>
        )}
      </LiveRegion>
      {creating && (
        <Card className="mb-4">
          <Card.Body>
            <h2 className="h5">{t('list.new')}</h2>
            <BoardForm
              onSubmit={submit}
              busy={creation.isLoading}
              error={creation.error}
              submitLabel={t('list.create')}
            >
              <Button variant="outline-secondary" onClick={() => { setCreating(false); creation.reset(); }}>
                {t('common:cancel')}
              </Button>
            </BoardForm>
          </Card.Body>
        </Card>
      )}
      {boards.isLoading && <LoadingState />}
      {boards.isError && <ErrorAlert error={boards.error} />}
      {boards.isSuccess && items.length === 0 && !creating && (
        <EmptyState title={t('list.empty_title')}>{t('list.empty_text')}</EmptyState>
      )}
      {active.length > 0 && (
        <ul className="list-unstyled" aria-label={t('list.active')}>
          {active.map((board) => (
            <BoardCard key={board.id} board={board} />
          ))}
        </ul>
      )}
      {archived.length > 0 && (
        <>
          <h2 className="h5 mt-4">{t('list.archived')}</h2>
          <ul className="list-unstyled" aria-label={t('list.archived')}>
            {archived.map((board) => (
              <BoardCard key={board.id} board={board} />
            ))}
          </ul>
        </>
      )}
      {boards.hasNextPage && (
        <Button variant="outline-secondary" disabled={boards.isFetchingNextPage} onClick={() => boards.fetchNextPage()}>
          {t('common:load_more')}
        </Button>
      )}
    </>
  );
}
