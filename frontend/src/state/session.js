import { createSlice } from '@reduxjs/toolkit';

// The access token lives here, in memory only; the refresh token is an HttpOnly
// cookie the browser sends to /api/v1/auth. A marker in local storage says that a
// cookie may exist, so a visitor who never signed in is not sent to /auth/refresh.
const MARKER = 'sit.session';

export function hasSessionMarker() {
  try {
    return window.localStorage.getItem(MARKER) === '1';
  } catch {
    return false;
  }
}

function setMarker(on) {
  try {
    if (on) window.localStorage.setItem(MARKER, '1');
    else window.localStorage.removeItem(MARKER);
  } catch {
    // storage may be unavailable (private mode): the session then lasts one tab
  }
}

const initialState = {
  accessToken: null,
  // unknown: not yet tried to restore; authenticated; anonymous
  status: hasSessionMarker() ? 'unknown' : 'anonymous',
  // why the last session ended: null, 'expired' or 'signed_out'
  endReason: null,
};

const sessionSlice = createSlice({
  name: 'session',
  initialState,
  reducers: {
    tokenReceived(state, action) {
      state.accessToken = action.payload;
      state.status = 'authenticated';
      state.endReason = null;
      setMarker(true);
    },
    sessionEnded(state, action) {
      state.accessToken = null;
      state.status = 'anonymous';
      state.endReason = action.payload ?? 'signed_out';
      setMarker(false);
    },
  },
});

export const { tokenReceived, sessionEnded } = sessionSlice.actions;
export default sessionSlice.reducer;

export const selectSession = (state) => state.session;
export const selectAccessToken = (state) => state.session.accessToken;
