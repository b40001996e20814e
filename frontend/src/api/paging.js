// Keyset paging of the API's lists (`{items, next_cursor}`) as an RTK Query
// infinite query: each page is fetched with the cursor the page before gave out,
// so tickets that arrive while someone pages push nothing twice onto the screen;
// a refetch walks the pages again from the first, computing each cursor anew.
export const PAGE_SIZE = 25;

export const cursorPaging = {
  initialPageParam: null,
  getNextPageParam: (lastPage) => lastPage?.next_cursor ?? undefined,
};

/** Query parameters of one page: the filters that are set, the cursor, the size. */
export function pageParams(filters, cursor, limit = PAGE_SIZE) {
  const params = { limit };
  for (const [key, value] of Object.entries(filters ?? {})) {
    if (value !== undefined && value !== null && value !== '') params[key] = value;
  }
  if (cursor) params.cursor = cursor;
  return params;
}

/** All items of the pages fetched so far, once each (by id), in page order. */
export function flattenPages(data) {
  const seen = new Set();
  const items = [];
  for (const page of data?.pages ?? []) {
    for (const item of page.items) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      items.push(item);
    }
  }
  return items;
}
