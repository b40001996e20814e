import Badge from 'react-bootstrap/Badge';
import Nav from 'react-bootstrap/Nav';
import { useTranslation } from 'react-i18next';
import { Link, NavLink, Outlet, useParams } from 'react-router';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import LoadingState from '../../components/LoadingState.jsx';
import { useGetBoardQuery } from './boardsApi.js';

/**
 * One board: its name and tabs (tickets, settings); the tab's page renders in the
 * outlet and gets the board through the outlet context, so other features need
 * not import this one.
 */
export default function BoardLayout() {
  const { t } = useTranslation('boards');
  const { boardId } = useParams();
  const id = /^\d{1,18}$/.test(boardId) ? Number(boardId) : null;
  const { data: board, isLoading, error: fetchError } = useGetBoardQuery(id, { skip: id == null });
  // An address that cannot name a board is simply not found.
  const error = id == null ? { status: 404, data: { code: 'not_found' } } : fetchError;
  if (isLoading) return <LoadingState />;
  if (error) {
    return (
      <ErrorAlert error={error}>
        <div className="mt-2">
          <Link to="/boards">{t('back_to_boards')}</Link>
        </div>
      </ErrorAlert>
    );
  }
  return (
    <>
      <nav aria-label={t('breadcrumb')} className="small mb-1">
        <Link to="/boards">{t('list.title')}</Link>
      </nav>
      <h1 className="h3">
        {board.name}{' '}
        {!board.is_active && (
          <Badge bg="" className="text-bg-secondary align-middle fs-6">
            {t('archived')}
          </Badge>
        )}
      </h1>
      <Nav variant="tabs" className="mb-3" as="ul">
        <Nav.Item as="li">
          <Nav.Link as={NavLink} to={`/boards/${board.id}`} end>
            {t('tabs.tickets')}
          </Nav.Link>
        </Nav.Item>
        <Nav.Item as="li">
          <Nav.Link as={NavLink} to={`/boards/${board.id}/settings`}>
            {t('tabs.settings')}
          </Nav.Link>
        </Nav.Item>
      </Nav>
      <Outlet context={{ board }} />
    </>
  );
}
