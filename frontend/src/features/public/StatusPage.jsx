import { useTranslation } from 'react-i18next';
import Card from '../../components/Card.jsx';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import LoadingState from '../../components/LoadingState.jsx';
import StateBadge from '../../components/StateBadge.jsx';
import { useDateTimeFormat } from '../../components/format.js';
import useDocumentTitle from '../../components/useDocumentTitle.js';
import { useGetReportStatusQuery } from './publicApi.js';

const PLATFORM = { jira: 'Jira', trello: 'Trello' };

function Forwarded({ report }) {
  const { t } = useTranslation('public');
  return (
    <div className="border rounded-3 p-3 mb-3 bg-body-tertiary">
      <p className="mb-1">{t('status.forwarded', { platform: PLATFORM[report.platform] ?? report.platform })}</p>
      <p className="mb-0">
        {t('status.forward_status')} <StateBadge state={report.status} />{' '}
        <span className="text-body-secondary small">{t(`status.forward_help.${report.status}`)}</span>
      </p>
    </div>
  );
}

/** What the reporter's secret link shows: `/t/:uuid`. */
export default function StatusPage({ uuid }) {
  const { t } = useTranslation('public');
  // The reader's own time zone: the page is for the reporter.
  const formatTime = useDateTimeFormat();
  const { data: report, isLoading, error } = useGetReportStatusQuery(uuid);
  useDocumentTitle(t('status.title'));

  if (isLoading) return <LoadingState />;
  if (error) {
    return (
      <Card>
        <h1 className="h4">{t('status.title')}</h1>
        {error.status === 404 ? <p className="mb-0">{t('status.not_found')}</p> : <ErrorAlert error={error} />}
      </Card>
    );
  }
  return (
    <Card>
        <p className="text-body-secondary small mb-1">{t('status.kicker', { board: report.board_name })}</p>
        <h1 className="h3 text-break">{report.title}</h1>
        <p className="mb-3">
          {t('status.current')} <StateBadge state={report.kind === 'external' ? report.status : report.state} />
        </p>
        <p className="small text-body-secondary">
          {t('status.reported_at', { time: formatTime(report.created_at) })}
        </p>
        {report.kind === 'external' && <Forwarded report={report} />}
        {report.history.length > 0 && (
          <>
            <h2 className="h5 mt-4">{t('status.history')}</h2>
            <ol className="list-unstyled mb-0">
              {report.history.map((entry, index) => (
                <li key={index} className="border-start border-3 ps-3 pb-3">
                  <div className="d-flex flex-wrap align-items-center gap-2">
                    {entry.from_state ? (
                      <span>{t('status.moved_to')}</span>
                    ) : (
                      <span>{t('status.received')}</span>
                    )}
                    <StateBadge state={entry.to_state} />
                    <time className="small text-body-secondary" dateTime={entry.changed_at}>
                      {formatTime(entry.changed_at)}
                    </time>
                  </div>
                  {entry.comment && <p className="mb-0 mt-1" style={{ whiteSpace: 'pre-wrap' }}>{entry.comment}</p>}
                </li>
              ))}
            </ol>
          </>
        )}
    </Card>
  );
}
