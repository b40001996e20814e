import { api } from '../api/baseApi.js';
import i18n from '../i18n/index.js';
import { sessionEnded } from '../state/session.js';

const CHANNEL = 'sit-session';

function systemTheme() {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function applyTheme(theme) {
  document.documentElement.setAttribute('data-bs-theme', theme ?? systemTheme());
}

function applyLanguage(language) {
  document.documentElement.lang = language;
  if (i18n.language !== language) i18n.changeLanguage(language);
}

/**
 * What the client state does outside React: the language to i18next and <html lang>,
 * the theme to Bootstrap's data-bs-theme (following the system until one is picked),
 * an ended session clears the cache, and a sign-out reaches every other tab.
 */
export function startEffects(store) {
  let { preferences, session } = store.getState();
  document.documentElement.lang = preferences.language; // i18next starts in it already
  applyTheme(preferences.theme);
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', () => {
    applyTheme(store.getState().preferences.theme);
  });

  const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);
  if (channel) {
    channel.onmessage = (event) => {
      if (event.data === 'signed_out' && store.getState().session.status !== 'anonymous') {
        store.dispatch(sessionEnded('signed_out_elsewhere'));
      }
    };
  }

  store.subscribe(() => {
    const state = store.getState();
    const before = { preferences, session };
    // Remember first: what follows dispatches, which calls this again at once.
    ({ preferences, session } = state);
    if (state.preferences.language !== before.preferences.language) applyLanguage(state.preferences.language);
    if (state.preferences.theme !== before.preferences.theme) applyTheme(state.preferences.theme);
    if (state.session.status === 'anonymous' && before.session.status === 'authenticated') {
      // Nothing of the manager's data stays in memory after the session ends.
      store.dispatch(api.util.resetApiState());
      if (state.session.endReason === 'signed_out') channel?.postMessage('signed_out');
    }
  });
}
