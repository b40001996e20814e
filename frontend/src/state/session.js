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
  // unknown: not yet restored from the cookie; unreachable: the server did not
  // answer while restoring (try again); authenticated; anonymous
  status: hasSessionMarker() ? 'unknown' : 'anonymous',
  // why the last session ended: null, 'expired', 'signed_out', 'signed_out_elsewhere'
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
      state.endReason = action.payload ?? null;
      setMarker(false);
    },
    // The cookie may still be good: nothing is ended, the person can try again.
    restoreFailed(state) {
      state.status = 'unreachable';
    },
    restoreRetried(state) {
      if (state.status === 'unreachable') state.status = 'unknown';
    },
  },
});

export const { tokenReceived, sessionEnded, restoreFailed, restoreRetried } = sessionSlice.actions;
export default sessionSlice.reducer;

export const selectSession = (state) => state.session;
export const selectAccessToken = (state) => state.session.accessToken;
