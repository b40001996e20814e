import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useDispatch, useSelector } from 'react-redux';
import { restoreSession } from '../api/baseApi.js';
import ErrorAlert from '../components/ErrorAlert.jsx';
import LoadingState from '../components/LoadingState.jsx';
import { restoreRetried, selectSession } from '../state/session.js';

/**
 * The session's status, restoring it from the refresh cookie first when it may
 * exist (after a reload the access token, kept in memory, is gone).
 */
export function useSessionStatus() {
  const dispatch = useDispatch();
  const session = useSelector(selectSession);
  useEffect(() => {
    if (session.status === 'unknown') dispatch(restoreSession());
  }, [session.status, dispatch]);
  return session;
}

/** What shows while the session is being restored, or when the server did not answer. */
export function SessionPending({ status }) {
  const { t } = useTranslation();
  const dispatch = useDispatch();
  if (status !== 'unreachable') return <LoadingState />;
  return (
    <ErrorAlert error={{ status: 'FETCH_ERROR' }}>
      <div className="mt-2">
        <button type="button" className="btn btn-sm btn-outline-danger" onClick={() => dispatch(restoreRetried())}>
          {t('common:try_again')}
        </button>
      </div>
    </ErrorAlert>
  );
}
