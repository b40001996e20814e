import { api } from '../../api/baseApi.js';

export const authApi = api.injectEndpoints({
  endpoints: (build) => ({
    register: build.mutation({
      query: (body) => ({ url: '/auth/register', method: 'POST', body }),
    }),
    verifyEmail: build.mutation({
      query: (token) => ({ url: '/auth/verify-email', method: 'POST', body: { token } }),
    }),
    resendVerification: build.mutation({
      query: (email) => ({ url: '/auth/verify-email/resend', method: 'POST', body: { email } }),
    }),
    login: build.mutation({
      query: (body) => ({ url: '/auth/login', method: 'POST', body }),
      // The refresh token is the HttpOnly cookie; its copy in the body is for API
      // clients and is not kept where scripts could read it.
      transformResponse: ({ access_token, expires_in }) => ({ access_token, expires_in }),
    }),
    requestPasswordReset: build.mutation({
      query: (email) => ({ url: '/auth/password-reset/request', method: 'POST', body: { email } }),
    }),
    confirmPasswordReset: build.mutation({
      query: (body) => ({ url: '/auth/password-reset/confirm', method: 'POST', body }),
    }),
  }),
});

export const {
  useRegisterMutation,
  useVerifyEmailMutation,
  useResendVerificationMutation,
  useLoginMutation,
  useRequestPasswordResetMutation,
  useConfirmPasswordResetMutation,
} = authApi;

export const logoutApi = api.injectEndpoints({
  endpoints: (build) => ({
    // No body: the refresh token is the HttpOnly cookie, which the answer clears.
    logout: build.mutation({ query: () => ({ url: '/auth/logout', method: 'POST' }) }),
  }),
});

export const { useLogoutMutation } = logoutApi;
