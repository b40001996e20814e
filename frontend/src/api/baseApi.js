import { createApi, fetchBaseQuery } from '@reduxjs/toolkit/query/react';
import { restoreFailed, selectAccessToken, sessionEnded, tokenReceived } from '../state/session.js';

// One createApi for the whole app (tag invalidation works only inside one);
// every feature adds its endpoints with injectEndpoints.
export const TAGS = ['Me', 'Board', 'Ticket', 'Stats', 'Inbox'];

// Absolute, so that the same code runs in the browser and under Node's fetch in tests.
const apiRoot = () => `${window.location.origin}/api/v1`;

const rawBaseQuery = fetchBaseQuery({
  prepareHeaders: (headers, { getState }) => {
    const token = selectAccessToken(getState());
    if (token && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
    headers.set('Accept-Language', getState().preferences.language);
    return headers;
  },
});

function withRoot(args) {
  const request = typeof args === 'string' ? { url: args } : args;
  return { ...request, url: `${apiRoot()}${request.url}` };
}

// A 429 says when to try again; keep it beside the error the components see.
async function send(args, api, extraOptions) {
  const result = await rawBaseQuery(withRoot(args), api, extraOptions);
  if (result.error) {
    const header = result.meta?.response?.headers?.get('Retry-After');
    const seconds = header == null ? null : Number.parseInt(header, 10);
    if (Number.isFinite(seconds)) result.error = { ...result.error, retryAfter: seconds };
  }
  return result;
}

let refreshInFlight = null;

// Refresh tokens rotate, and the server takes a token presented twice for a stolen
// one and ends the session. Two tabs refreshing at the same moment would present
// the same cookie: the Web Locks API makes them take turns, so the second presents
// the cookie the first one got.
function refreshInTurn(api, extraOptions) {
  const request = () => send({ url: '/auth/refresh', method: 'POST' }, api, extraOptions);
  return navigator.locks?.request ? navigator.locks.request('sit-session-refresh', request) : request();
}

/**
 * Exchange the refresh cookie for a new access token, once however many callers ask
 * at the same moment: they all wait for the one request. Only the server's "no"
 * (401, 403) ends the session, as 'expired' when there was one to lose; a network
 * failure or a 5xx leaves it as it was (while restoring: 'unreachable', to retry).
 */
export function refreshSession(api, extraOptions) {
  if (!refreshInFlight) {
    refreshInFlight = (async () => {
      const hadToken = selectAccessToken(api.getState()) != null;
      const result = await refreshInTurn(api, extraOptions);
      if (result.data?.access_token) {
        api.dispatch(tokenReceived(result.data.access_token));
        return true;
      }
      if (result.error?.status === 401 || result.error?.status === 403) {
        api.dispatch(sessionEnded(hadToken ? 'expired' : null));
      } else if (!hadToken) {
        api.dispatch(restoreFailed());
      }
      return false;
    })().finally(() => {
      refreshInFlight = null;
    });
  }
  return refreshInFlight;
}

const NO_REFRESH = ['/auth/login', '/auth/refresh', '/auth/logout'];

export async function baseQueryWithReauth(args, api, extraOptions) {
  const url = typeof args === 'string' ? args : args.url;
  const tokenUsed = selectAccessToken(api.getState());
  let result = await send(args, api, extraOptions);
  if (result.error?.status !== 401 || tokenUsed == null || NO_REFRESH.includes(url)) {
    return result;
  }
  // Another request may already have refreshed while this one was on its way.
  const current = selectAccessToken(api.getState());
  const renewed = current != null && current !== tokenUsed ? true : await refreshSession(api, extraOptions);
  if (renewed) result = await send(args, api, extraOptions);
  return result;
}

export const api = createApi({
  reducerPath: 'api',
  baseQuery: baseQueryWithReauth,
  tagTypes: TAGS,
  endpoints: () => ({}),
});

/** On start-up, when a session may exist: turn the refresh cookie into an access token. */
export const restoreSession = () => (dispatch, getState) => refreshSession({ dispatch, getState });
