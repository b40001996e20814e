import { api } from '../../api/baseApi.js';

export const publicApi = api.injectEndpoints({
  endpoints: (build) => ({
    getPublicBoard: build.query({ query: (publicId) => `/public/boards/${encodeURIComponent(publicId)}` }),
    submitReport: build.mutation({
      query: ({ publicId, ...body }) => ({
        url: `/public/boards/${encodeURIComponent(publicId)}/tickets`,
        method: 'POST',
        body,
      }),
    }),
    getReportStatus: build.query({ query: (uuid) => `/public/tickets/${encodeURIComponent(uuid)}` }),
  }),
});

export const { useGetPublicBoardQuery, useSubmitReportMutation, useGetReportStatusQuery } = publicApi;
