import Badge from 'react-bootstrap/Badge';
import { useTranslation } from 'react-i18next';
import { healthVariant, inboxHealth } from './health.js';

export default function HealthBadge({ inbox, className = '' }) {
  const { t } = useTranslation('inboxes');
  const health = inboxHealth(inbox);
  const variant = healthVariant(health);
  return (
    <Badge bg="" className={`text-bg-${variant} ${className}`.trim()}>
      {t(`health.${health}`)}
    </Badge>
  );
}
