import { api } from './baseApi.js';

// The signed-in manager: every manager screen needs the time zone and language.
export const meApi = api.injectEndpoints({
  endpoints: (build) => ({
    getMe: build.query({ query: () => '/me', providesTags: ['Me'] }),
    updateMe: build.mutation({
      query: (body) => ({ url: '/me', method: 'PATCH', body }),
      invalidatesTags: ['Me'],
    }),
  }),
});

export const { useGetMeQuery, useUpdateMeMutation } = meApi;
