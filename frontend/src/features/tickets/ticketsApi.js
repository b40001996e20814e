import { api } from '../../api/baseApi.js';
import { cursorPaging, pageParams } from '../../api/paging.js';

const listTag = (boardId) => ({ type: 'Ticket', id: `LIST-${boardId}` });

export const ticketsApi = api.injectEndpoints({
  endpoints: (build) => ({
    listTickets: build.infiniteQuery({
      infiniteQueryOptions: cursorPaging,
      query: ({ queryArg: { boardId, ...filters }, pageParam }) => ({
        url: `/boards/${boardId}/tickets`,
        params: pageParams(filters, pageParam),
      }),
      providesTags: (data, _error, { boardId }) => [
        listTag(boardId),
        ...(data?.pages ?? []).flatMap((page) => page.items.map((t) => ({ type: 'Ticket', id: t.id }))),
      ],
    }),
    getTicket: build.query({
      query: (id) => `/tickets/${id}`,
      providesTags: (_result, _error, id) => [{ type: 'Ticket', id }],
    }),
    moveTicket: build.mutation({
      query: ({ id, ...body }) => ({ url: `/tickets/${id}/transitions`, method: 'POST', body }),
      // The answer is the ticket as it now is: shown at once, without a refetch.
      async onQueryStarted({ id }, { dispatch, queryFulfilled }) {
        try {
          const { data } = await queryFulfilled;
          dispatch(ticketsApi.util.upsertQueryData('getTicket', id, data));
        } catch {
          // the error reaches the component through the mutation's result
        }
      },
      // Its board's list and counts, and the dashboard's numbers change too; after a
      // conflict (someone moved it meanwhile) the ticket itself is fetched again.
      invalidatesTags: (result, error, { id }) => [
        ...(result ? [listTag(result.board_id), { type: 'Board', id: result.board_id }] : []),
        ...(error ? [{ type: 'Ticket', id }] : []),
        'Stats',
      ],
    }),
  }),
});

export const { useListTicketsInfiniteQuery, useGetTicketQuery, useMoveTicketMutation } = ticketsApi;
