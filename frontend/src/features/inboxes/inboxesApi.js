import { api } from '../../api/baseApi.js';
import { cursorPaging, pageParams } from '../../api/paging.js';

// An inbox's tags: its own id; the list.
export const inboxesApi = api.injectEndpoints({
  endpoints: (build) => ({
    listInboxes: build.infiniteQuery({
      infiniteQueryOptions: cursorPaging,
      query: ({ pageParam }) => ({ url: '/inboxes', params: pageParams({}, pageParam, 100) }),
      providesTags: (data) => [
        { type: 'Inbox', id: 'LIST' },
        ...(data?.pages ?? []).flatMap((page) => page.items.map((i) => ({ type: 'Inbox', id: i.id }))),
      ],
    }),
    getInbox: build.query({
      query: (id) => `/inboxes/${id}`,
      providesTags: (_result, _error, id) => [{ type: 'Inbox', id }],
    }),
    listProviders: build.query({ query: () => '/inboxes/oauth2/providers' }),
    // The provider's sign-in page for a new inbox (the same cookie as below).
    connectInbox: build.mutation({
      query: (body) => ({ url: '/inboxes/oauth2/authorize', method: 'POST', body }),
    }),
    // The provider's sign-in page for the inbox; the answer also sets the cookie that
    // lets this browser, and only this one, finish the sign-in.
    reconnectInbox: build.mutation({
      query: (id) => ({ url: `/inboxes/${id}/oauth2/authorize`, method: 'POST', body: {} }),
    }),
    testInbox: build.mutation({
      query: (id) => ({ url: `/inboxes/${id}/test`, method: 'POST' }),
      invalidatesTags: (_result, _error, id) => [{ type: 'Inbox', id }],
    }),
  }),
});

export const {
  useListInboxesInfiniteQuery,
  useGetInboxQuery,
  useListProvidersQuery,
  useConnectInboxMutation,
  useReconnectInboxMutation,
  useTestInboxMutation,
} = inboxesApi;
