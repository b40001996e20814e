import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeStore } from '../app/store.js';
import { fakeApi } from '../test/server.js';
import { api, restoreSession } from './baseApi.js';

const probe = api.injectEndpoints({
  endpoints: (build) => ({
    probe: build.query({ query: (n) => `/probe/${n}` }),
  }),
});

const signedIn = (token) => ({ session: { accessToken: token, status: 'authenticated', endReason: null } });

// A server whose access tokens are 'old' (expired) and 'new' (good); /auth/refresh
// answers after `gate` opens, so several requests can wait on it at once.
function server({ refreshOk = true } = {}) {
  let open;
  const gate = new Promise((resolve) => {
    open = resolve;
  });
  const routes = {
    'POST /api/v1/auth/refresh': async () => {
      await gate;
      return refreshOk
        ? { body: { access_token: 'new', token_type: 'bearer', expires_in: 900 } }
        : { status: 401, body: { detail: 'No.', code: 'not_authenticated' } };
    },
  };
  for (const n of [1, 2, 3]) {
    routes[`GET /api/v1/probe/${n}`] = ({ headers }) =>
      headers.get('Authorization') === 'Bearer new'
        ? { body: { n } }
        : { status: 401, body: { detail: 'Expired.', code: 'not_authenticated' } };
  }
  return { ...fakeApi(routes), open };
}

describe('the re-authenticating base query', () => {
  let fake;
  beforeEach(() => {
    fake = null;
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('refreshes once for parallel 401s, and every request then succeeds', async () => {
    fake = server();
    vi.stubGlobal('fetch', fake.fetchMock);
    const store = makeStore(signedIn('old'));
    const results = [1, 2, 3].map((n) => store.dispatch(probe.endpoints.probe.initiate(n)));
    // All three have had their 401 before the one refresh answers.
    await vi.waitFor(() => expect(fake.calls.filter((c) => c.key.startsWith('GET')).length).toBe(3));
    await vi.waitFor(() => expect(fake.calls.filter((c) => c.key === 'POST /api/v1/auth/refresh').length).toBe(1));
    fake.open();
    const answers = await Promise.all(results.map((r) => r.unwrap()));
    expect(answers).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(fake.calls.filter((c) => c.key === 'POST /api/v1/auth/refresh')).toHaveLength(1);
    expect(store.getState().session).toMatchObject({ accessToken: 'new', status: 'authenticated' });
  });

  it('sends no body to /auth/refresh: the refresh token is the HttpOnly cookie', async () => {
    fake = server();
    fake.open();
    vi.stubGlobal('fetch', fake.fetchMock);
    const store = makeStore(signedIn('old'));
    await store.dispatch(probe.endpoints.probe.initiate(1)).unwrap();
    const refresh = fake.calls.find((c) => c.key === 'POST /api/v1/auth/refresh');
    expect(refresh.body).toBeUndefined();
  });

  it('signs out, as expired, when the refresh fails, and every waiting request fails', async () => {
    fake = server({ refreshOk: false });
    vi.stubGlobal('fetch', fake.fetchMock);
    const store = makeStore(signedIn('old'));
    const results = [1, 2].map((n) => store.dispatch(probe.endpoints.probe.initiate(n)));
    fake.open();
    const settled = await Promise.all(results);
    expect(settled.map((r) => r.error?.status)).toEqual([401, 401]);
    expect(fake.calls.filter((c) => c.key === 'POST /api/v1/auth/refresh')).toHaveLength(1);
    expect(store.getState().session).toMatchObject({ accessToken: null, status: 'anonymous', endReason: 'expired' });
  });

  it('does not try to refresh for a request made without a session', async () => {
    fake = server();
    vi.stubGlobal('fetch', fake.fetchMock);
    const store = makeStore();
    const result = await store.dispatch(probe.endpoints.probe.initiate(1));
    expect(result.error.status).toBe(401);
    expect(fake.calls.map((c) => c.key)).toEqual(['GET /api/v1/probe/1']);
  });

  it('keeps the seconds of Retry-After with a 429', async () => {
    fake = fakeApi({
      'GET /api/v1/probe/1': () => ({
        status: 429,
        body: { detail: 'Slow down.', code: 'rate_limited' },
        headers: { 'Retry-After': '42' },
      }),
    });
    vi.stubGlobal('fetch', fake.fetchMock);
    const store = makeStore(signedIn('new'));
    const result = await store.dispatch(probe.endpoints.probe.initiate(1));
    expect(result.error).toMatchObject({ status: 429, retryAfter: 42 });
  });

  it('sends the interface language as Accept-Language', async () => {
    fake = fakeApi({ 'GET /api/v1/probe/1': () => ({ body: {} }) });
    vi.stubGlobal('fetch', fake.fetchMock);
    const store = makeStore({ preferences: { language: 'pl', languageChosen: true, theme: null } });
    await store.dispatch(probe.endpoints.probe.initiate(1));
    expect(fake.calls[0].headers.get('Accept-Language')).toBe('pl');
  });

  it('keeps the session when the refresh fails for a reason other than the server’s no', async () => {
    fake = fakeApi({
      'GET /api/v1/probe/1': () => ({ status: 401, body: { detail: 'x', code: 'not_authenticated' } }),
      'POST /api/v1/auth/refresh': () => ({ status: 503, body: { detail: 'x', code: 'database_unavailable' } }),
    });
    vi.stubGlobal('fetch', fake.fetchMock);
    const store = makeStore(signedIn('old'));
    await store.dispatch(probe.endpoints.probe.initiate(1));
    expect(store.getState().session).toMatchObject({ accessToken: 'old', status: 'authenticated' });
  });

  it('says the server was unreachable when restoring a session fails on the network', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const store = makeStore({ session: { accessToken: null, status: 'unknown', endReason: null } });
    await store.dispatch(restoreSession());
    expect(store.getState().session.status).toBe('unreachable');
  });

  it('refreshes in turn with other tabs, through the Web Locks API', async () => {
    fake = server();
    fake.open();
    vi.stubGlobal('fetch', fake.fetchMock);
    const held = [];
    vi.stubGlobal('navigator', {
      ...navigator,
      locks: {
        request: async (name, callback) => {
          held.push(name);
          return callback();
        },
      },
    });
    const store = makeStore(signedIn('old'));
    await store.dispatch(probe.endpoints.probe.initiate(1)).unwrap();
    expect(held).toEqual(['sit-session-refresh']);
  });
});
