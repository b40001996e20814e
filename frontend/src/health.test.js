import { describe, expect, it } from 'vitest';
import { renderToString } from 'react-dom/server';
import { createElement } from 'react';
import App from './App.jsx';
import { STATE_TEXT, readServiceState } from './health.js';

describe('readServiceState', () => {
  it('is ready when /ready answers 200', async () => {
    const calls = [];
    const fetchImpl = async (url) => {
      calls.push(url);
      return { ok: true };
    };
    expect(await readServiceState(fetchImpl)).toBe('ready');
    expect(calls).toEqual(['/ready']);
  });

  it('is unavailable when /ready answers 503', async () => {
    expect(await readServiceState(async () => ({ ok: false }))).toBe('unavailable');
  });

  it('is unreachable when the request fails', async () => {
    const failing = async () => {
      throw new TypeError('network');
    };
    expect(await readServiceState(failing)).toBe('unreachable');
  });
});

describe('App', () => {
  it('renders the product name and the state text', () => {
    const html = renderToString(createElement(App, { initialState: 'ready' }));
    expect(html).toContain('Simple Issue Tracker');
    expect(html).toContain(STATE_TEXT.ready);
  });
});
