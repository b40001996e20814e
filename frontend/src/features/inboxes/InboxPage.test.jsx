import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Provider } from 'react-redux';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeStore } from '../../app/store.js';
import { startTestI18n } from '../../test/i18n.js';
import { fakeApi } from '../../test/server.js';
import InboxPage from './InboxPage.jsx';
import InboxesPage from './InboxesPage.jsx';
import { leaveFor } from './leave.js';

vi.mock('./leave.js', () => ({ leaveFor: vi.fn() }));

beforeAll(() => startTestI18n('en'));
afterEach(() => {
  vi.unstubAllGlobals();
  vi.mocked(leaveFor).mockReset();
});

const DEAD = {
  id: 7,
  name: 'Support',
  email_address: 'support@example.com',
  auth_kind: 'oauth2',
  is_active: true,
  last_polled_at: null,
  last_error: 'Google no longer accepts this inbox’s sign-in',
  oauth2: {
    provider: 'google',
    status: 'reconnect_needed',
    scopes: ['https://mail.google.com/'],
    expires_at: null,
    refreshed_at: null,
    last_error: 'Google no longer accepts this inbox’s sign-in: reconnect the inbox.',
    last_error_at: null,
    admin_consent_url: null,
  },
};

function show(path, routes) {
  const fake = fakeApi(routes);
  vi.stubGlobal('fetch', fake.fetchMock);
  const router = createMemoryRouter(
    [
      { path: '/inboxes', element: <InboxesPage /> },
      { path: '/inboxes/:inboxId', element: <InboxPage /> },
    ],
    { initialEntries: [path] },
  );
  render(
    <Provider store={makeStore()}>
      <RouterProvider router={router} />
    </Provider>,
  );
  return { fake, router };
}

describe('an inbox whose sign-in died', () => {
  it('says so, and its reconnect button sends the browser to the provider', async () => {
    const user = userEvent.setup();
    const { fake } = show('/inboxes/7', {
      'GET /api/v1/inboxes/7': () => ({ body: DEAD }),
      'POST /api/v1/inboxes/7/oauth2/authorize': () => ({
        body: { authorization_url: 'https://accounts.google.com/o/oauth2/v2/auth?x=1', expires_at: '' },
      }),
    });
    expect(await screen.findByRole('heading', { name: 'Support' })).toBeVisible();
    expect(screen.getByText('Needs reconnecting')).toBeVisible();
    expect(screen.getByText(/reconnect the inbox\.$/)).toBeVisible();
    await user.click(screen.getByRole('button', { name: 'Reconnect with Google' }));
    await vi.waitFor(() =>
      expect(leaveFor).toHaveBeenCalledWith('https://accounts.google.com/o/oauth2/v2/auth?x=1'),
    );
    expect(fake.calls.map((c) => c.key)).toContain('POST /api/v1/inboxes/7/oauth2/authorize');
    // Usable again once asked: a manager coming Back from the provider can retry.
    await vi.waitFor(() => expect(screen.getByRole('button', { name: 'Reconnect with Google' })).toBeEnabled());
  });

  it('shows why a sign-in came back failed, and forgets it once closed', async () => {
    const user = userEvent.setup();
    const { router } = show('/inboxes/7?oauth2=failed&reason=wrong_browser&detail=Start%20again%20here.', {
      'GET /api/v1/inboxes/7': () => ({ body: DEAD }),
    });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The mailbox was not connected');
    expect(alert).toHaveTextContent('finished in another browser');
    expect(alert).toHaveTextContent('Details: Start again here.');
    await user.click(within(alert).getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('alert')).toBeNull();
    expect(router.state.location.search).toBe('');
  });
});

describe('the inbox list', () => {
  it('tells a connected mailbox and shows how each inbox is doing', async () => {
    show('/inboxes?oauth2=connected', {
      'GET /api/v1/inboxes': () => ({
        body: {
          items: [
            DEAD,
            { ...DEAD, id: 8, name: 'Sales', auth_kind: 'password', oauth2: null, last_error: null },
          ],
          next_cursor: null,
        },
      }),
    });
    expect(await screen.findByText(/The mailbox is connected/)).toBeVisible();
    const list = await screen.findByRole('list', { name: 'Inboxes' });
    const [support, sales] = within(list).getAllByRole('listitem');
    expect(support).toHaveTextContent('Support');
    expect(support).toHaveTextContent('Google');
    expect(support).toHaveTextContent('Needs reconnecting');
    expect(sales).toHaveTextContent('Username and password');
    expect(sales).toHaveTextContent('Working');
    expect(within(support).getByRole('link', { name: 'Support' })).toHaveAttribute('href', '/inboxes/7');
  });
});

describe('connecting a mailbox', () => {
  it('asks for the inbox, then sends the browser to the provider chosen', async () => {
    const user = userEvent.setup();
    const { fake } = show('/inboxes', {
      'GET /api/v1/inboxes': () => ({ body: { items: [], next_cursor: null } }),
      'GET /api/v1/inboxes/oauth2/providers': () => ({
        body: [
          { name: 'google', label: 'Google' },
          { name: 'microsoft', label: 'Microsoft 365' },
        ],
      }),
      'POST /api/v1/inboxes/oauth2/authorize': ({ body }) =>
        body.email_address === 'bad'
          ? {
              status: 422,
              body: {
                detail: 'Some fields are invalid.',
                code: 'validation_error',
                errors: [{ field: 'email_address', message: 'x', code: 'value_error.email', params: {} }],
              },
            }
          : { body: { authorization_url: 'https://login.example/authorize?state=s', expires_at: '' } },
    });
    await user.click(await screen.findByRole('button', { name: 'Connect Microsoft 365' }));
    await user.type(screen.getByLabelText('Name of the inbox'), 'Support');
    const address = screen.getByLabelText("The mailbox's address");
    await user.type(address, 'bad');
    await user.click(screen.getByRole('button', { name: 'Continue to Microsoft 365' }));
    await vi.waitFor(() => expect(address).toBeInvalid());
    expect(leaveFor).not.toHaveBeenCalled();

    await user.clear(address);
    await user.type(address, 'support@example.com');
    await user.type(screen.getByLabelText('The account to sign in with (optional)'), 'alice@example.com');
    await user.click(screen.getByRole('button', { name: 'Continue to Microsoft 365' }));
    await vi.waitFor(() => expect(leaveFor).toHaveBeenCalledWith('https://login.example/authorize?state=s'));
    const sent = fake.calls.filter((c) => c.key === 'POST /api/v1/inboxes/oauth2/authorize').at(-1);
    expect(sent.body).toEqual({
      provider: 'microsoft',
      name: 'Support',
      email_address: 'support@example.com',
      login_hint: 'alice@example.com',
    });
  });

  it('is not offered when the server is registered with no provider', async () => {
    show('/inboxes', {
      'GET /api/v1/inboxes': () => ({ body: { items: [], next_cursor: null } }),
      'GET /api/v1/inboxes/oauth2/providers': () => ({ body: [] }),
    });
    expect(await screen.findByText('No inboxes yet')).toBeVisible();
    expect(screen.queryByRole('heading', { name: 'Connect a mailbox' })).toBeNull();
  });
});
