import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeStore } from '../app/store.js';
import { fakeApi } from '../test/server.js';
import { api } from './baseApi.js';
import { cursorPaging, flattenPages, pageParams } from './paging.js';

// A list that behaves like the API's: newest first, keyset cursors after (id).
function listServer() {
  let rows = Array.from({ length: 7 }, (_, i) => ({ id: i + 1 }));
  const routes = {
    'GET /api/v1/items': ({ url }) => {
      const limit = Number(url.searchParams.get('limit'));
      const after = url.searchParams.get('cursor');
      const sorted = [...rows].sort((a, b) => b.id - a.id);
      const start = after ? sorted.findIndex((r) => r.id < Number(after)) : 0;
      const page = start < 0 ? [] : sorted.slice(start, start + limit);
      const more = start >= 0 && start + limit < sorted.length;
      return { body: { items: page, next_cursor: more ? String(page.at(-1).id) : null } };
    },
  };
  return { ...fakeApi(routes), add: (id) => (rows = [...rows, { id }]) };
}

const itemsApi = api.injectEndpoints({
  endpoints: (build) => ({
    items: build.infiniteQuery({
      infiniteQueryOptions: cursorPaging,
      query: ({ pageParam }) => ({ url: '/items', params: pageParams({}, pageParam, 3) }),
      providesTags: ['Ticket'],
    }),
  }),
});

afterEach(() => vi.unstubAllGlobals());

describe('cursor paging', () => {
  it('builds query parameters from the filters that are set', () => {
    expect(pageParams({ state: 'new', source: '', q: null }, 'abc', 10)).toEqual({ state: 'new', cursor: 'abc', limit: 10 });
  });

  it('shows every item once when tickets arrive while someone pages and the list refreshes', async () => {
    const server = listServer();
    vi.stubGlobal('fetch', server.fetchMock);
    const store = makeStore();
    const select = () => flattenPages(itemsApi.endpoints.items.select(undefined)(store.getState()).data).map((r) => r.id);

    await store.dispatch(itemsApi.endpoints.items.initiate(undefined));
    await store.dispatch(itemsApi.endpoints.items.initiate(undefined, { direction: 'forward' }));
    expect(select()).toEqual([7, 6, 5, 4, 3, 2]);

    // Two new tickets arrive; the next page still continues after ticket 2.
    server.add(8);
    server.add(9);
    await store.dispatch(itemsApi.endpoints.items.initiate(undefined, { direction: 'forward' }));
    expect(select()).toEqual([7, 6, 5, 4, 3, 2, 1]);

    // A change elsewhere refetches the pages: the new ones come first, none is lost.
    store.dispatch(api.util.invalidateTags(['Ticket']));
    await vi.waitFor(() => expect(select()).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]));
  });

  it('never shows an item twice', () => {
    const data = { pages: [{ items: [{ id: 3 }, { id: 2 }] }, { items: [{ id: 2 }, { id: 1 }] }] };
    expect(flattenPages(data).map((r) => r.id)).toEqual([3, 2, 1]);
  });
});
