import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSelector } from 'react-redux';
import { fieldErrorsOf } from '../../api/errors.js';
import Alert from '../../components/Alert.jsx';
import LiveRegion from '../../components/LiveRegion.jsx';
import Card from '../../components/Card.jsx';
import CopyButton from '../../components/CopyButton.jsx';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import { NATIVE_NAMES } from '../../components/LanguageSwitch.jsx';
import Field from '../../components/Field.jsx';
import useFields from '../../components/useFields.js';
import LoadingState from '../../components/LoadingState.jsx';
import SubmitButton from '../../components/SubmitButton.jsx';
import useDocumentTitle from '../../components/useDocumentTitle.js';
import { LANGUAGES, selectLanguage } from '../../state/preferences.js';
import { useGetPublicBoardQuery, useSubmitReportMutation } from './publicApi.js';

const FIELDS = ['title', 'description', 'email', 'name', 'language', 'website'];
const EMPTY = { title: '', description: '', email: '', name: '', website: '' };

function Submitted({ uuid, onAnother }) {
  const { t } = useTranslation('public');
  const link = `${window.location.origin}/t/${uuid}`;
  return (
    <Alert variant="success" className="mb-0">
      <h2 className="h5">{t('form.thanks_title')}</h2>
      <p>{t('form.thanks_text')}</p>
      <p className="mb-2 text-break">
        <a href={`/t/${uuid}`} className="alert-link">
          {link}
        </a>
      </p>
      <div className="d-flex flex-wrap gap-2">
        <CopyButton text={link} label={t('form.copy_link')} variant="outline-success" />
        <button type="button" className="btn btn-sm btn-link alert-link" onClick={onAnother}>
          {t('form.another')}
        </button>
      </div>
    </Alert>
  );
}

/** The board's public form: `/b/:publicId`. */
export default function PublicFormPage({ publicId }) {
  const { t } = useTranslation('public');
  const uiLanguage = useSelector(selectLanguage);
  const board = useGetPublicBoardQuery(publicId);
  const [submit, submission] = useSubmitReportMutation();
  const { values: form, bind, reset } = useFields(EMPTY);
  const [language, setLanguage] = useState(null);
  const fields = fieldErrorsOf(submission.error);
  useDocumentTitle(board.data ? board.data.name : t('form.title'));

  async function onSubmit(event) {
    event.preventDefault();
    if (submission.isLoading) return;
    const body = { publicId, ...form, language: language ?? uiLanguage };
    if (!body.name.trim()) delete body.name;
    if (!body.website) delete body.website;
    const result = await submit(body);
    if (result.data) reset();
  }

  if (board.isLoading) return <LoadingState />;
  if (board.error) {
    const missing = board.error.status === 404;
    return (
      <Card>
        <h1 className="h4">{missing ? t('form.unavailable_title') : t('form.title')}</h1>
        {missing ? <p className="mb-0">{t('form.unavailable_text')}</p> : <ErrorAlert error={board.error} />}
      </Card>
    );
  }

  return (
    <Card>
        <p className="text-body-secondary small mb-1">{t('form.kicker')}</p>
        <h1 className="h3">{board.data.name}</h1>
        {board.data.description && (
          <p className="text-body-secondary" style={{ whiteSpace: 'pre-wrap' }}>{board.data.description}</p>
        )}
        <LiveRegion>
          {submission.isSuccess && <Submitted uuid={submission.data.uuid} onAnother={() => submission.reset()} />}
        </LiveRegion>
        {!submission.isSuccess && (
          <form noValidate onSubmit={onSubmit}>
            <ErrorAlert error={submission.error} fieldNames={FIELDS} />
            <Field
              label={t('fields.title')}
              required
              maxLength={255}
              {...bind('title')}
              errors={fields.title}
            />
            <Field
              label={t('fields.description')}
              as="textarea"
              rows={6}
              required
              maxLength={20000}
              {...bind('description')}
              errors={fields.description}
            />
            <Field
              label={t('fields.email')}
              type="email"
              autoComplete="email"
              required
              {...bind('email')}
              errors={fields.email}
              help={t('fields.email_help')}
            />
            <Field
              label={t('fields.name')}
              autoComplete="name"
              maxLength={200}
              {...bind('name')}
              errors={fields.name}
            />
            <Field
              as="select"
              label={t('fields.language')}
              errors={fields.language}
              value={language ?? uiLanguage}
              onChange={(event) => setLanguage(event.target.value)}
            >
              {LANGUAGES.map((code) => (
                <option key={code} value={code} lang={code}>
                  {NATIVE_NAMES[code]}
                </option>
              ))}
            </Field>
            {/* A trap for bots: people never see it, so whatever fills it is not a person. */}
            <div className="sit-honeypot" aria-hidden="true">
              <label htmlFor="website">Website</label>
              <input id="website" type="text" tabIndex={-1} autoComplete="off" {...bind('website')} />
            </div>
            <SubmitButton busy={submission.isLoading} className="w-100 w-sm-auto">
              {t('form.submit')}
            </SubmitButton>
          </form>
        )}
    </Card>
  );
}
