import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Provider } from 'react-redux';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeStore } from '../../app/store.js';
import { startTestI18n } from '../../test/i18n.js';
import { fakeApi } from '../../test/server.js';
import PublicFormPage from './PublicFormPage.jsx';

beforeAll(() => startTestI18n('en'));
afterEach(() => vi.unstubAllGlobals());

function renderForm(routes) {
  const fake = fakeApi({
    'GET /api/v1/public/boards/abc': () => ({ body: { name: 'Printers', description: 'Paper jams.' } }),
    ...routes,
  });
  vi.stubGlobal('fetch', fake.fetchMock);
  render(
    <Provider store={makeStore()}>
      <PublicFormPage publicId="abc" />
    </Provider>,
  );
  return fake;
}

async function fillIn(user) {
  await user.type(await screen.findByLabelText('What is the problem?'), 'Jam');
  await user.type(screen.getByLabelText('Describe it'), 'Every page.');
  await user.type(screen.getByLabelText('Your email address'), 'jan@example.com');
}

describe('the public form', () => {
  it('shows each field error under its field, translated by code', async () => {
    const user = userEvent.setup();
    renderForm({
      'POST /api/v1/public/boards/abc/tickets': () => ({
        status: 422,
        body: {
          detail: 'Some fields are invalid.',
          code: 'validation_error',
          errors: [{ field: 'email', message: 'bad', code: 'value_error.email', params: {} }],
        },
      }),
    });
    await fillIn(user);
    await user.click(screen.getByRole('button', { name: 'Send the report' }));
    const email = screen.getByLabelText('Your email address');
    await vi.waitFor(() => expect(email).toHaveAccessibleDescription(/Enter a valid email address/));
    expect(email).toBeInvalid();
    expect(email).toHaveFocus(); // the keyboard goes to the field to fix
    expect(screen.getByRole('alert')).toHaveTextContent('Some fields need your attention');
  });

  it('sends once however often the button is pressed, then shows the status link', async () => {
    const user = userEvent.setup();
    let answer;
    const fake = renderForm({
      'POST /api/v1/public/boards/abc/tickets': () =>
        new Promise((resolve) => {
          answer = resolve;
        }),
    });
    await fillIn(user);
    const button = screen.getByRole('button', { name: 'Send the report' });
    await user.click(button);
    await user.click(button);
    await user.click(button);
    expect(button).toHaveAttribute('aria-disabled', 'true');
    expect(button).toHaveFocus(); // a disabled button would have dropped it
    const uuid = '8b0f0a4e-93a4-4b53-9d43-0b5f6c3c8f65';
    answer({ status: 201, body: { uuid, status_url: `http://x/t/${uuid}` } });
    const done = await screen.findByText('Thank you, your report is in.');
    expect(within(done.closest('[role="status"]')).getByRole('link')).toHaveAttribute('href', `/t/${uuid}`);
    const posts = fake.calls.filter((c) => c.key.startsWith('POST'));
    expect(posts).toHaveLength(1);
    expect(posts[0].body).toEqual({
      title: 'Jam',
      description: 'Every page.',
      email: 'jan@example.com',
      language: 'en',
    });
  });

  it('keeps the honeypot away from people: hidden from screen readers and the tab order', async () => {
    renderForm({});
    await screen.findByLabelText('What is the problem?');
    const trap = document.querySelector('input[name="website"]');
    expect(trap).toHaveAttribute('tabindex', '-1');
    expect(trap.closest('[aria-hidden="true"]')).not.toBeNull();
    expect(screen.queryByRole('textbox', { name: 'Website' })).toBeNull();
    expect(screen.getAllByRole('textbox').map((box) => box.name)).not.toContain('website');
  });

  it('says when to try again after a 429', async () => {
    const user = userEvent.setup();
    renderForm({
      'POST /api/v1/public/boards/abc/tickets': () => ({
        status: 429,
        body: { detail: 'Too many.', code: 'rate_limited' },
        headers: { 'Retry-After': '60' },
      }),
    });
    await fillIn(user);
    await user.click(screen.getByRole('button', { name: 'Send the report' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Try again in 60 seconds.');
  });

  it('tells a reporter when the form is gone', async () => {
    const fake = fakeApi({});
    vi.stubGlobal('fetch', fake.fetchMock);
    render(
      <Provider store={makeStore()}>
        <PublicFormPage publicId="gone" />
      </Provider>,
    );
    expect(await screen.findByRole('heading', { name: 'This form is not available' })).toBeInTheDocument();
  });
});
