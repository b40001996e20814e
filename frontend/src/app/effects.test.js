import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { api } from '../api/baseApi.js';
import { languageChosen, themeChosen } from '../state/preferences.js';
import { sessionEnded, tokenReceived } from '../state/session.js';
import { startTestI18n } from '../test/i18n.js';
import { fakeApi } from '../test/server.js';
import { startEffects } from './effects.js';
import { makeStore } from './store.js';

const probe = api.injectEndpoints({
  endpoints: (build) => ({ mine: build.query({ query: () => '/mine' }) }),
});

// BroadcastChannel between two "tabs" of the same test: messages reach the others.
class FakeChannel {
  static all = [];
  constructor(name) {
    this.name = name;
    this.onmessage = null;
    FakeChannel.all.push(this);
  }
  postMessage(data) {
    for (const other of FakeChannel.all) {
      if (other !== this && other.name === this.name) other.onmessage?.({ data });
    }
  }
}

beforeAll(() => startTestI18n('en'));
afterEach(() => {
  vi.unstubAllGlobals();
  FakeChannel.all = [];
});

describe('the effects of client state', () => {
  it('applies the theme and language to the document', async () => {
    const store = makeStore();
    startEffects(store);
    store.dispatch(themeChosen('dark'));
    expect(document.documentElement.dataset.bsTheme).toBe('dark');
    store.dispatch(languageChosen('pl'));
    expect(document.documentElement.lang).toBe('pl');
    store.dispatch(languageChosen('en'));
  });

  it('forgets the manager’s data when the session ends, without looping', async () => {
    vi.stubGlobal('fetch', fakeApi({ 'GET /api/v1/mine': () => ({ body: { secret: 1 } }) }).fetchMock);
    const store = makeStore();
    startEffects(store);
    store.dispatch(tokenReceived('t'));
    await store.dispatch(probe.endpoints.mine.initiate());
    expect(probe.endpoints.mine.select()(store.getState()).data).toEqual({ secret: 1 });
    store.dispatch(sessionEnded('signed_out'));
    expect(probe.endpoints.mine.select()(store.getState()).data).toBeUndefined();
  });

  it('signs out every other tab when one signs out', () => {
    vi.stubGlobal('BroadcastChannel', FakeChannel);
    const [first, second] = [makeStore(), makeStore()];
    startEffects(first);
    startEffects(second);
    first.dispatch(tokenReceived('a'));
    second.dispatch(tokenReceived('a'));
    first.dispatch(sessionEnded('signed_out'));
    expect(second.getState().session).toMatchObject({ status: 'anonymous', endReason: 'signed_out_elsewhere' });
  });
});
