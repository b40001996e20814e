import { useTranslation } from 'react-i18next';

const STATES = ['new', 'in_progress', 'closed', 'rejected'];

/** A board's ticket counts by state, as a short description list. */
export default function TicketCounts({ counts }) {
  const { t } = useTranslation();
  return (
    <dl className="d-flex flex-wrap gap-3 mb-0 small">
      {STATES.map((state) => (
        <div key={state} className="d-flex gap-1">
          <dt className="fw-normal text-body-secondary">{t(`common:state.${state}`)}</dt>
          <dd className="mb-0 fw-semibold">{counts?.[state] ?? 0}</dd>
        </div>
      ))}
    </dl>
  );
}
