import { useState } from 'react';
import Button from 'react-bootstrap/Button';
import Card from 'react-bootstrap/Card';
import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { fieldErrorsOf } from '../../api/errors.js';
import ErrorAlert from '../../components/ErrorAlert.jsx';
import Field from '../../components/Field.jsx';
import SubmitButton from '../../components/SubmitButton.jsx';
import { useConnectInboxMutation, useListProvidersQuery } from './inboxesApi.js';
import { leaveFor } from './leave.js';

const FIELDS = ['name', 'email_address', 'login_hint'];

function ConnectForm({ provider, onCancel }) {
  const { t } = useTranslation('inboxes');
  const [connect, state] = useConnectInboxMutation();
  const [form, setForm] = useState({ name: '', email_address: '', login_hint: '' });
  const fields = fieldErrorsOf(state.error);
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });

  async function submit(event) {
    event.preventDefault();
    if (state.isLoading) return;
    const body = { provider: provider.name, name: form.name, email_address: form.email_address };
    if (form.login_hint.trim()) body.login_hint = form.login_hint;
    const result = await connect(body);
    // The provider's page; it sends the browser back to this app when done.
    if (result.data) leaveFor(result.data.authorization_url);
  }

  return (
    <Form noValidate onSubmit={submit}>
      <h3 className="h6">{t('connect.form_title', { provider: provider.label })}</h3>
      <ErrorAlert error={state.error} fieldNames={FIELDS} />
      <Field
        label={t('connect.name')}
        name="name"
        required
        maxLength={200}
        value={form.name}
        onChange={set('name')}
        errors={fields.name}
      />
      <Field
        label={t('connect.address')}
        name="email_address"
        type="email"
        required
        value={form.email_address}
        onChange={set('email_address')}
        errors={fields.email_address}
        help={t('connect.address_help')}
      />
      <Field
        label={t('connect.account')}
        name="login_hint"
        type="email"
        value={form.login_hint}
        onChange={set('login_hint')}
        errors={fields.login_hint}
        help={t('connect.account_help')}
      />
      <div className="d-flex flex-wrap gap-2">
        <SubmitButton busy={state.isLoading}>{t('connect.continue', { provider: provider.label })}</SubmitButton>
        <Button variant="outline-secondary" onClick={onCancel}>
          {t('common:cancel')}
        </Button>
      </div>
    </Form>
  );
}

/**
 * Connect a Google Workspace or Microsoft 365 mailbox: the name and address here,
 * then the provider's own sign-in page. Shown only for the providers this server is
 * registered with.
 */
export default function ConnectMailbox() {
  const { t } = useTranslation('inboxes');
  const { data: providers = [] } = useListProvidersQuery();
  const [chosen, setChosen] = useState(null);
  if (providers.length === 0) return null;
  return (
    <Card className="mb-4">
      <Card.Body>
        <h2 className="h5">{t('connect.title')}</h2>
        {chosen ? (
          <ConnectForm key={chosen.name} provider={chosen} onCancel={() => setChosen(null)} />
        ) : (
          <>
            <p className="text-body-secondary">{t('connect.help')}</p>
            <div className="d-flex flex-wrap gap-2">
              {providers.map((provider) => (
                <Button key={provider.name} variant="outline-primary" onClick={() => setChosen(provider)}>
                  {t('connect.with', { provider: provider.label })}
                </Button>
              ))}
            </div>
          </>
        )}
      </Card.Body>
    </Card>
  );
}
