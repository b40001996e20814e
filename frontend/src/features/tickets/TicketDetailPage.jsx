import { useState } from 'react';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import Col from 'react-bootstrap/Col';
import Form from 'react-bootstrap/Form';
import Row from 'react-bootstrap/Row';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, useOutletContext, useParams } from 'react-router';
import { useGetMeQuery } from '../../api/meApi.js';
import { fieldErrorsOf } from '../../api/errors.js';
import CopyButton from '../../components/CopyButton.jsx';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import Field from '../../components/Field.jsx';
import LoadingState from '../../components/LoadingState.jsx';
import StateBadge from '../../components/StateBadge.jsx';
import { useDateTimeFormat } from '../../components/format.js';
import useDocumentTitle from '../../components/useDocumentTitle.js';
import { allowedMoves } from './states.js';
import { useGetTicketQuery, useMoveTicketMutation } from './ticketsApi.js';

const MOVE_VARIANT = { in_progress: 'primary', closed: 'success', rejected: 'outline-danger' };

function History({ entries, formatTime }) {
  const { t } = useTranslation('tickets');
  return (
    <ol className="list-unstyled mb-0">
      {entries.map((entry, index) => (
        <li key={index} className="border-start border-3 ps-3 pb-3">
          <div className="d-flex flex-wrap align-items-center gap-2">
            {entry.from_state ? (
              <>
                <StateBadge state={entry.from_state} />
                <span aria-hidden="true">→</span>
                <span className="visually-hidden">{t('history.to')}</span>
                <StateBadge state={entry.to_state} />
              </>
            ) : (
              <span>{t('history.created')}</span>
            )}
            <time className="small text-body-secondary" dateTime={entry.changed_at}>
              {formatTime(entry.changed_at)}
            </time>
            <span className="small text-body-secondary">
              {entry.changed_by == null ? t('history.by_system') : t('history.by_manager')}
            </span>
          </div>
          {entry.comment && (
            <p className="mb-1 mt-1">
              <span className="fw-semibold">{t('history.comment')}:</span> {entry.comment}
            </p>
          )}
          {entry.internal_note && (
            <p className="mb-0 small">
              <span className="fw-semibold">{t('history.internal_note')}:</span> {entry.internal_note}
            </p>
          )}
        </li>
      ))}
    </ol>
  );
}

function MoveForm({ ticket }) {
  const { t } = useTranslation('tickets');
  const [move, { isLoading, error, originalArgs }] = useMoveTicketMutation();
  const [form, setForm] = useState({ comment: '', internal_note: '' });
  const [moved, setMoved] = useState(null);
  const moves = allowedMoves(ticket.state);
  const fields = fieldErrorsOf(error);

  async function moveTo(toState) {
    if (isLoading) return;
    setMoved(null);
    const body = { id: ticket.id, to_state: toState };
    if (form.comment.trim()) body.comment = form.comment.trim();
    if (form.internal_note.trim()) body.internal_note = form.internal_note.trim();
    const result = await move(body);
    if (result.data) {
      setForm({ comment: '', internal_note: '' });
      setMoved(toState);
    }
  }

  return (
    <Card>
      <Card.Body>
        <h2 className="h5">{t('move.title')}</h2>
        <LiveRegion>
          {moved && (
            <Alert variant="success" onClose={() => setMoved(null)}>
              {t('move.done', { state: t(`common:state.${moved}`) })}
            </Alert>
          )}
        </LiveRegion>
        {/* Outside the form: a move refused because someone moved the ticket
            meanwhile (409) must still be read when the ticket is now final. */}
        <ErrorAlert error={error} fieldNames={['comment', 'internal_note']} />
        {moves.length === 0 ? (
          <p className="text-body-secondary mb-0">{t('move.final')}</p>
        ) : (
          <Form onSubmit={(event) => event.preventDefault()}>
            <Field
              label={t('move.comment')}
              as="textarea"
              rows={2}
              maxLength={5000}
              value={form.comment}
              onChange={(event) => setForm({ ...form, comment: event.target.value })}
              errors={fields.comment}
              help={t('move.comment_help')}
            />
            <Field
              label={t('move.internal_note')}
              as="textarea"
              rows={2}
              maxLength={5000}
              value={form.internal_note}
              onChange={(event) => setForm({ ...form, internal_note: event.target.value })}
              errors={fields.internal_note}
              help={t('move.internal_note_help')}
            />
            <div className="d-flex flex-wrap gap-2" role="group" aria-label={t('move.buttons')}>
              {moves.map((state) => (
                <Button
                  key={state}
                  variant={MOVE_VARIANT[state]}
                  disabled={isLoading}
                  aria-busy={(isLoading && originalArgs?.to_state === state) || undefined}
                  onClick={() => moveTo(state)}
                >
                  {t(`move.to.${state}`)}
                </Button>
              ))}
            </div>
          </Form>
        )}
      </Card.Body>
    </Card>
  );
}

export default function TicketDetailPage() {
  const { t } = useTranslation('tickets');
  const { board } = useOutletContext();
  const { ticketId } = useParams();
  const id = /^\d{1,18}$/.test(ticketId) ? Number(ticketId) : null;
  const { data: ticket, isLoading, error: fetchError } = useGetTicketQuery(id, { skip: id == null });
  const error = id == null ? { status: 404, data: { code: 'not_found' } } : fetchError;
  const { data: me } = useGetMeQuery();
  const formatTime = useDateTimeFormat(me?.timezone);
  useDocumentTitle(ticket?.title);
  const back = <Link to={`/boards/${board.id}`}>{t('detail.back')}</Link>;

  if (isLoading) return <LoadingState />;
  if (error) return <ErrorAlert error={error}><div className="mt-2">{back}</div></ErrorAlert>;
  if (ticket.board_id !== board.id) {
    return <Navigate to={`/boards/${ticket.board_id}/tickets/${ticket.id}`} replace />;
  }
  const statusUrl = `${window.location.origin}/t/${ticket.uuid}`;
  return (
    <>
      <div className="small mb-2">{back}</div>
      <Row className="g-4">
        <Col lg={7}>
          <Card className="mb-4">
            <Card.Body>
              <div className="d-flex flex-wrap align-items-center gap-2 mb-2">
                <h2 className="h4 mb-0 text-break">{ticket.title}</h2>
                <StateBadge state={ticket.state} />
              </div>
              <dl className="row small mb-3">
                <dt className="col-sm-4">{t('detail.reporter')}</dt>
                <dd className="col-sm-8 text-break">
                  {ticket.reporter_name ? `${ticket.reporter_name} <${ticket.reporter_email}>` : ticket.reporter_email}
                </dd>
                <dt className="col-sm-4">{t('detail.source')}</dt>
                <dd className="col-sm-8">{t(`source.${ticket.source}`)}</dd>
                <dt className="col-sm-4">{t('detail.language')}</dt>
                <dd className="col-sm-8">{t(`language.${ticket.language}`)}</dd>
                <dt className="col-sm-4">{t('detail.created')}</dt>
                <dd className="col-sm-8">{formatTime(ticket.created_at)}</dd>
              </dl>
              <h3 className="h6">{t('detail.description')}</h3>
              <p className="text-break mb-3" style={{ whiteSpace: 'pre-wrap' }}>{ticket.description}</p>
              <div className="d-flex flex-wrap align-items-center gap-2 small">
                <span>{t('detail.status_link')}</span>
                <CopyButton text={statusUrl} label={t('detail.copy_status_link')} />
              </div>
            </Card.Body>
          </Card>
          <Card>
            <Card.Body>
              <h2 className="h5">{t('history.title')}</h2>
              <History entries={ticket.history} formatTime={formatTime} />
            </Card.Body>
          </Card>
        </Col>
        <Col lg={5}>
          <MoveForm ticket={ticket} />
        </Col>
      </Row>
    </>
  );
}
