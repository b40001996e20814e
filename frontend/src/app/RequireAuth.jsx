import { useEffect } from 'react';
import { useDispatch, useSelector } from 'react-redux';
import { Navigate, Outlet, useLocation } from 'react-router';
import { restoreSession } from '../api/baseApi.js';
import LoadingState from '../components/LoadingState.jsx';
import { selectSession } from '../state/session.js';

/**
 * Manager pages need a session. On a reload the access token is gone (it lives in
 * memory), so the refresh cookie is traded for a new one first; without a session
 * the person goes to sign-in, and comes back here afterwards.
 */
export default function RequireAuth() {
  const dispatch = useDispatch();
  const location = useLocation();
  const { status } = useSelector(selectSession);

  useEffect(() => {
    if (status === 'unknown') dispatch(restoreSession());
  }, [status, dispatch]);

  if (status === 'unknown') return <LoadingState />;
  if (status === 'anonymous') {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Outlet />;
}
