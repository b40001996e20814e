import { Suspense } from 'react';
import { Outlet } from 'react-router';
import LoadingState from '../components/LoadingState.jsx';
import PublicLayout from '../components/PublicLayout.jsx';

/** The sign-in screens' frame: the public header, a narrow column. */
export default function RouteFrame() {
  return (
    <PublicLayout narrow>
      <Suspense fallback={<LoadingState />}>
        <Outlet />
      </Suspense>
    </PublicLayout>
  );
}
