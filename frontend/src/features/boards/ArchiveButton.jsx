import { useId, useState } from 'react';
import Button from 'react-bootstrap/Button';
import Modal from 'react-bootstrap/Modal';
import { useTranslation } from 'react-i18next';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import { useSetBoardArchivedMutation } from './boardsApi.js';

/**
 * Archive (after a confirmation: the form stops taking reports at once) or
 * unarchive a board.
 */
export default function ArchiveButton({ board, size, variant, className }) {
  const { t } = useTranslation('boards');
  const [setArchived, { isLoading, error, reset }] = useSetBoardArchivedMutation();
  const [asking, setAsking] = useState(false);
  const titleId = useId();
  const archive = board.is_active;

  async function apply() {
    const result = await setArchived({ id: board.id, archived: archive });
    if (result.data) setAsking(false);
  }

  return (
    <>
      <Button
        size={size}
        variant={variant ?? (archive ? 'outline-secondary' : 'outline-primary')}
        className={className}
        disabled={isLoading}
        onClick={() => (archive ? setAsking(true) : apply())}
        aria-label={t(archive ? 'archive_named' : 'unarchive_named', { name: board.name })}
      >
        {t(archive ? 'archive' : 'unarchive')}
      </Button>
      {!archive && <ErrorAlert error={error} className="mt-2 mb-0" />}
      <Modal show={asking} onHide={() => { setAsking(false); reset(); }} centered aria-labelledby={titleId}>
        <Modal.Header closeButton closeLabel={t('common:close')}>
          <Modal.Title as="h2" className="h5" id={titleId}>
            {t('confirm_archive.title', { name: board.name })}
          </Modal.Title>
        </Modal.Header>
        <Modal.Body>
          <p className="mb-0">{t('settings.archive_help')}</p>
          <ErrorAlert error={error} className="mt-3 mb-0" />
        </Modal.Body>
        <Modal.Footer>
          <Button variant="outline-secondary" onClick={() => { setAsking(false); reset(); }}>
            {t('common:cancel')}
          </Button>
          <Button variant="danger" disabled={isLoading} onClick={apply}>
            {t('confirm_archive.confirm')}
          </Button>
        </Modal.Footer>
      </Modal>
    </>
  );
}
