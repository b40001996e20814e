import { useState } from 'react';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import Card from 'react-bootstrap/Card';
import { useTranslation } from 'react-i18next';
import { useOutletContext } from 'react-router';
import useDocumentTitle from '../../components/useDocumentTitle.js';
import BoardForm from './BoardForm.jsx';
import PublicLink from './PublicLink.jsx';
import ArchiveButton from './ArchiveButton.jsx';
import { useUpdateBoardMutation } from './boardsApi.js';

export default function BoardSettingsPage() {
  const { t } = useTranslation('boards');
  const { board } = useOutletContext();
  useDocumentTitle(`${t('tabs.settings')} · ${board.name}`);
  const [update, updating] = useUpdateBoardMutation();
  const [saved, setSaved] = useState(false);

  async function submit(form) {
    setSaved(false);
    const result = await update({ id: board.id, ...form });
    if (result.data) setSaved(true);
  }

  return (
    <div className="d-grid gap-4">
      <Card>
        <Card.Body>
          <h2 className="h5">{t('settings.title')}</h2>
          <LiveRegion>
            {saved && (
              <Alert variant="success" onClose={() => setSaved(false)}>
                {t('settings.saved')}
              </Alert>
            )}
          </LiveRegion>
          <BoardForm
            key={board.id}
            initial={board}
            onSubmit={submit}
            busy={updating.isLoading}
            error={updating.error}
            submitLabel={t('settings.save')}
          />
        </Card.Body>
      </Card>
      {board.is_active && (
        <Card>
          <Card.Body>
            <h2 className="h5">{t('settings.public_form')}</h2>
            <p className="text-body-secondary">{t('settings.public_form_help')}</p>
            <PublicLink board={board} />
          </Card.Body>
        </Card>
      )}
      <Card>
        <Card.Body>
          <h2 className="h5">{t(board.is_active ? 'settings.archive_title' : 'settings.unarchive_title')}</h2>
          <p className="text-body-secondary">
            {t(board.is_active ? 'settings.archive_help' : 'settings.unarchive_help')}
          </p>
          <ArchiveButton board={board} variant={board.is_active ? 'outline-danger' : 'outline-primary'} />
        </Card.Body>
      </Card>
    </div>
  );
}
