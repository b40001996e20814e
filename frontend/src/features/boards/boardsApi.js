import { api } from '../../api/baseApi.js';
import { cursorPaging, pageParams } from '../../api/paging.js';

// A board's tags: its own id; the list; the stats that count its tickets.
export const boardsApi = api.injectEndpoints({
  endpoints: (build) => ({
    listBoards: build.infiniteQuery({
      infiniteQueryOptions: cursorPaging,
      query: ({ pageParam }) => ({ url: '/boards', params: pageParams({}, pageParam, 100) }),
      providesTags: (data) => [
        { type: 'Board', id: 'LIST' },
        ...(data?.pages ?? []).flatMap((page) => page.items.map((b) => ({ type: 'Board', id: b.id }))),
      ],
    }),
    getBoard: build.query({
      query: (id) => `/boards/${id}`,
      providesTags: (_result, _error, id) => [{ type: 'Board', id }],
    }),
    createBoard: build.mutation({
      query: (body) => ({ url: '/boards', method: 'POST', body }),
      invalidatesTags: [{ type: 'Board', id: 'LIST' }, 'Stats'],
    }),
    updateBoard: build.mutation({
      query: ({ id, ...body }) => ({ url: `/boards/${id}`, method: 'PATCH', body }),
      invalidatesTags: (_result, _error, { id }) => [{ type: 'Board', id }, 'Stats'],
    }),
    setBoardArchived: build.mutation({
      query: ({ id, archived }) => ({
        url: `/boards/${id}/${archived ? 'archive' : 'unarchive'}`,
        method: 'POST',
      }),
      invalidatesTags: (_result, _error, { id }) => [{ type: 'Board', id }, 'Stats'],
    }),
  }),
});

export const {
  useListBoardsInfiniteQuery,
  useGetBoardQuery,
  useCreateBoardMutation,
  useUpdateBoardMutation,
  useSetBoardArchivedMutation,
} = boardsApi;
