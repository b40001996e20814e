import { useState } from 'react';
import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { fieldErrorsOf } from '../../api/errors.js';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import Field from '../../components/Field.jsx';
import SubmitButton from '../../components/SubmitButton.jsx';
import KeywordsInput from './KeywordsInput.jsx';

const FIELDS = ['name', 'description', 'keywords'];

/** Name, description and keywords of a board: for creating one and for its settings. */
export default function BoardForm({ initial, onSubmit, busy, error, submitLabel, children }) {
  const { t } = useTranslation('boards');
  const [form, setForm] = useState({
    name: initial?.name ?? '',
    description: initial?.description ?? '',
    keywords: initial?.keywords ?? [],
  });
  const fields = fieldErrorsOf(error);
  // The API names a bad keyword's place, e.g. "keywords.2"; show them all under the tags.
  const keywordErrors = Object.entries(fields)
    .filter(([name]) => name === 'keywords' || name.startsWith('keywords.'))
    .flatMap(([, list]) => list);

  function submit(event) {
    event.preventDefault();
    if (!busy) onSubmit(form);
  }

  return (
    <Form noValidate onSubmit={submit}>
      <ErrorAlert
        error={error}
        fieldNames={[...FIELDS, ...Object.keys(fields).filter((f) => f.startsWith('keywords.'))]}
      />
      <Field
        label={t('fields.name')}
        name="name"
        required
        maxLength={200}
        value={form.name}
        onChange={(event) => setForm({ ...form, name: event.target.value })}
        errors={fields.name}
      />
      <Field
        label={t('fields.description')}
        as="textarea"
        rows={3}
        name="description"
        maxLength={5000}
        value={form.description}
        onChange={(event) => setForm({ ...form, description: event.target.value })}
        errors={fields.description}
        help={t('fields.description_help')}
      />
      <KeywordsInput
        value={form.keywords}
        onChange={(keywords) => setForm({ ...form, keywords })}
        errors={keywordErrors}
      />
      <div className="d-flex flex-wrap gap-2">
        <SubmitButton busy={busy}>{submitLabel}</SubmitButton>
        {children}
      </div>
    </Form>
  );
}
