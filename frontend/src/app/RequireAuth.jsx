import { Navigate, Outlet, useLocation } from 'react-router';
import { SessionPending, useSessionStatus } from './SessionGate.jsx';

// After signing out, sign-in starts afresh; after a session ran out, it leads back.
const LEFT_ON_PURPOSE = ['signed_out', 'signed_out_elsewhere'];

/**
 * Manager pages need a session; without one the person goes to sign-in, and
 * comes back here afterwards.
 */
export default function RequireAuth() {
  const location = useLocation();
  const { status, endReason } = useSessionStatus();
  if (status === 'unknown' || status === 'unreachable') return <SessionPending status={status} />;
  if (status === 'anonymous') {
    if (LEFT_ON_PURPOSE.includes(endReason)) return <Navigate to="/sign-in" replace />;
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Outlet />;
}
