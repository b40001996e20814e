import { Suspense, lazy } from 'react';
import LoadingState from '../components/LoadingState.jsx';
import PublicLayout from '../components/PublicLayout.jsx';
import NotFoundPage from './NotFoundPage.jsx';

// Each page its own small chunk: a reporter downloads the form or the status page.
const PublicFormPage = lazy(() => import('../features/public/PublicFormPage.jsx'));
const StatusPage = lazy(() => import('../features/public/StatusPage.jsx'));

// The reporter's pages, without the router and the manager screens' components:
// what a person on a phone downloads to report a problem stays small.
export const PUBLIC_PATHS = [
  { pattern: /^\/b\/([^/]+)\/?$/, render: (id) => <PublicFormPage publicId={id} /> },
  { pattern: /^\/t\/([^/]+)\/?$/, render: (uuid) => <StatusPage uuid={uuid} /> },
];

function decoded(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null; // a malformed link (%ZZ): shown as not found, not as a blank page
  }
}

export function matchPublicPath(pathname) {
  for (const { pattern, render } of PUBLIC_PATHS) {
    const match = pattern.exec(pathname);
    const value = match && decoded(match[1]);
    if (value) return () => render(value);
  }
  return null;
}

export default function PublicApp({ pathname }) {
  const page = matchPublicPath(pathname);
  return (
    <PublicLayout>
      <Suspense fallback={<LoadingState />}>{page ? page() : <NotFoundPage />}</Suspense>
    </PublicLayout>
  );
}
