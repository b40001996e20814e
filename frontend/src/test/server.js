import { vi } from 'vitest';

/**
 * A stand-in for the API behind `fetch`: `routes` maps "METHOD /path" to a handler
 * returning { status, body, headers } (or a promise of one). Records every call.
 */
export function fakeApi(routes) {
  const calls = [];
  const fetchMock = vi.fn(async (input) => {
    const request = input instanceof Request ? input : new Request(input);
    const url = new URL(request.url);
    const key = `${request.method} ${url.pathname}`;
    const text = await request.text();
    const call = { key, url, headers: request.headers, body: text ? JSON.parse(text) : undefined };
    calls.push(call);
    const handler = routes[key];
    if (!handler) return new Response(JSON.stringify({ detail: 'Not found.', code: 'not_found' }), { status: 404 });
    const { status = 200, body, headers = {} } = await handler(call);
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json', ...headers },
    });
  });
  return { fetchMock, calls };
}
