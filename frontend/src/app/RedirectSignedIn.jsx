import { Navigate, Outlet, useSearchParams } from 'react-router';
import { safeNext } from '../features/auth/nextPath.js';
import { SessionPending, useSessionStatus } from './SessionGate.jsx';

/** The root and the sign-in screens: a manager already signed in goes on to the app. */
export default function RedirectSignedIn({ children }) {
  const [params] = useSearchParams();
  const { status } = useSessionStatus();
  if (status === 'unknown' || status === 'unreachable') return <SessionPending status={status} />;
  if (status === 'authenticated') return <Navigate to={safeNext(params.get('next'))} replace />;
  return children ?? <Outlet />;
}
