import { useEffect } from 'react';
import { useDispatch, useSelector } from 'react-redux';
import { Navigate, Outlet, useSearchParams } from 'react-router';
import { restoreSession } from '../api/baseApi.js';
import { safeNext } from '../features/auth/nextPath.js';
import LoadingState from '../components/LoadingState.jsx';
import { selectSession } from '../state/session.js';

/** The root and the sign-in screens: a manager already signed in goes to the boards. */
export default function RedirectSignedIn({ children }) {
  const dispatch = useDispatch();
  const { status } = useSelector(selectSession);
  const [params] = useSearchParams();
  useEffect(() => {
    if (status === 'unknown') dispatch(restoreSession());
  }, [status, dispatch]);
  if (status === 'unknown') return <LoadingState />;
  if (status === 'authenticated') return <Navigate to={safeNext(params.get('next'))} replace />;
  return children ?? <Outlet />;
}
