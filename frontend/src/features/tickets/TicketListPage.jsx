import { useEffect, useId, useRef, useState } from 'react';
import Button from 'react-bootstrap/Button';
import Col from 'react-bootstrap/Col';
import Form from 'react-bootstrap/Form';
import Row from 'react-bootstrap/Row';
import Table from 'react-bootstrap/Table';
import { useTranslation } from 'react-i18next';
import { Link, useOutletContext, useSearchParams } from 'react-router';
import { useGetMeQuery } from '../../api/meApi.js';
import { flattenPages } from '../../api/paging.js';
import EmptyState from '../../components/EmptyState.jsx';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import LoadingState from '../../components/LoadingState.jsx';
import StateBadge from '../../components/StateBadge.jsx';
import { useDateTimeFormat } from '../../components/format.js';
import useDocumentTitle from '../../components/useDocumentTitle.js';
import { SOURCES, STATES } from './states.js';
import { useListTicketsInfiniteQuery } from './ticketsApi.js';
import useDebouncedValue from './useDebouncedValue.js';

function Filters({ params, setParam }) {
  const { t } = useTranslation('tickets');
  const ids = { search: useId(), state: useId(), source: useId() };
  const urlQuery = params.get('q') ?? '';
  const [search, setSearch] = useState(urlQuery);
  const settled = useDebouncedValue(search.trim(), 300);
  // What this box last wrote to the address: anything else there (a tab, Back)
  // came from elsewhere, and the box shows it.
  const written = useRef(urlQuery);
  const latest = useRef(setParam);
  useEffect(() => {
    latest.current = setParam;
  });
  useEffect(() => {
    if (settled === written.current) return;
    written.current = settled;
    latest.current('q', settled);
  }, [settled]);
  useEffect(() => {
    if (urlQuery === written.current) return;
    written.current = urlQuery;
    setSearch(urlQuery);
  }, [urlQuery]);

  return (
    <Form role="search" onSubmit={(event) => event.preventDefault()} className="mb-3">
      <Row className="g-2">
        <Col xs={12} md={6}>
          <Form.Label htmlFor={ids.search} className="small mb-1">
            {t('filters.search')}
          </Form.Label>
          <Form.Control
            id={ids.search}
            type="search"
            value={search}
            maxLength={200}
            onChange={(event) => setSearch(event.target.value)}
            placeholder={t('filters.search_placeholder')}
          />
        </Col>
        <Col xs={6} md={3}>
          <Form.Label htmlFor={ids.state} className="small mb-1">
            {t('filters.state')}
          </Form.Label>
          <Form.Select id={ids.state} value={params.get('state') ?? ''} onChange={(e) => setParam('state', e.target.value)}>
            <option value="">{t('filters.any_state')}</option>
            {STATES.map((state) => (
              <option key={state} value={state}>
                {t(`common:state.${state}`)}
              </option>
            ))}
          </Form.Select>
        </Col>
        <Col xs={6} md={3}>
          <Form.Label htmlFor={ids.source} className="small mb-1">
            {t('filters.source')}
          </Form.Label>
          <Form.Select id={ids.source} value={params.get('source') ?? ''} onChange={(e) => setParam('source', e.target.value)}>
            <option value="">{t('filters.any_source')}</option>
            {SOURCES.map((source) => (
              <option key={source} value={source}>
                {t(`source.${source}`)}
              </option>
            ))}
          </Form.Select>
        </Col>
      </Row>
    </Form>
  );
}

export default function TicketListPage() {
  const { t } = useTranslation('tickets');
  const { board } = useOutletContext();
  useDocumentTitle(board.name);
  const [params, setParams] = useSearchParams();
  const { data: me } = useGetMeQuery();
  const formatTime = useDateTimeFormat(me?.timezone);
  const filters = {
    state: params.get('state') ?? '',
    source: params.get('source') ?? '',
    q: params.get('q') ?? '',
  };
  const list = useListTicketsInfiniteQuery({ boardId: board.id, ...filters });
  const tickets = flattenPages(list.data);
  const filtered = Boolean(filters.state || filters.source || filters.q);

  const setParam = (name, value) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );

  return (
    <>
      <Filters params={params} setParam={setParam} />
      {list.isLoading && <LoadingState />}
      {list.isError && <ErrorAlert error={list.error} />}
      {list.isSuccess && tickets.length === 0 && (
        <EmptyState title={filtered ? t('list.no_match') : t('list.empty_title')}>
          {filtered ? t('list.no_match_text') : t('list.empty_text')}
        </EmptyState>
      )}
      {tickets.length > 0 && (
        <Table responsive hover className="align-middle" aria-busy={list.isFetching || undefined}>
          <caption className="visually-hidden">{t('list.caption', { name: board.name })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('columns.title')}</th>
              <th scope="col">{t('columns.state')}</th>
              <th scope="col" className="d-none d-md-table-cell">{t('columns.reporter')}</th>
              <th scope="col" className="d-none d-md-table-cell">{t('columns.source')}</th>
              <th scope="col" className="d-none d-sm-table-cell">{t('columns.created')}</th>
            </tr>
          </thead>
          <tbody>
            {tickets.map((ticket) => (
              <tr key={ticket.id}>
                <td className="text-break">
                  <Link to={`/boards/${board.id}/tickets/${ticket.id}`}>{ticket.title}</Link>
                  <div className="d-sm-none small text-body-secondary">{formatTime(ticket.created_at)}</div>
                </td>
                <td><StateBadge state={ticket.state} /></td>
                <td className="d-none d-md-table-cell text-break">{ticket.reporter_name || ticket.reporter_email}</td>
                <td className="d-none d-md-table-cell">{t(`source.${ticket.source}`)}</td>
                <td className="d-none d-sm-table-cell text-nowrap small">{formatTime(ticket.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {list.hasNextPage && (
        <Button variant="outline-secondary" disabled={list.isFetchingNextPage} onClick={() => list.fetchNextPage()}>
          {list.isFetchingNextPage ? t('common:loading') : t('common:load_more')}
        </Button>
      )}
    </>
  );
}
