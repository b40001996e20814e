import { useTranslation } from 'react-i18next';

// text-bg-* pairs a background with a text colour that passes the contrast check.
const STYLE = {
  new: 'primary',
  in_progress: 'warning',
  closed: 'success',
  rejected: 'secondary',
  pending: 'info',
  created: 'success',
  failed: 'danger',
};

/** A ticket's state, or a forwarded report's status, as a coloured label. */
export default function StateBadge({ state }) {
  const { t } = useTranslation();
  return <span className={`badge text-bg-${STYLE[state] ?? 'secondary'}`}>{t(`common:state.${state}`)}</span>;
}
