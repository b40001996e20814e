import { Navigate } from 'react-router';
import LoadingState from '../components/LoadingState.jsx';
import i18n from '../i18n/index.js';
import RedirectSignedIn from './RedirectSignedIn.jsx';
import RequireAuth from './RequireAuth.jsx';
import RouteFrame from './RouteFrame.jsx';

// Every page is its own chunk, fetched with its words (its i18n namespaces) in
// parallel when the route is first visited.
const page = (load, namespaces = []) => async () => {
  const [module] = await Promise.all([load(), i18n.loadNamespaces(namespaces)]);
  return { Component: module.default };
};

const auth = (load) => page(load, ['auth']);

const tree = [
  {
    path: '/',
    element: (
      <RedirectSignedIn>
        <Navigate to="/sign-in" replace />
      </RedirectSignedIn>
    ),
  },
  {
    element: <RouteFrame />,
    children: [
      {
        element: <RedirectSignedIn />,
        children: [
          { path: '/sign-in', lazy: auth(() => import('../features/auth/SignInPage.jsx')) },
          { path: '/sign-up', lazy: auth(() => import('../features/auth/SignUpPage.jsx')) },
        ],
      },
      { path: '/sign-up/check-email', lazy: auth(() => import('../features/auth/CheckEmailPage.jsx')) },
      { path: '/verify-email', lazy: auth(() => import('../features/auth/VerifyEmailPage.jsx')) },
      { path: '/forgot-password', lazy: auth(() => import('../features/auth/ForgotPasswordPage.jsx')) },
      { path: '/reset-password', lazy: auth(() => import('../features/auth/ResetPasswordPage.jsx')) },
    ],
  },
  {
    element: <RequireAuth />,
    children: [
      {
        lazy: page(() => import('./ManagerLayout.jsx')),
        children: [
          { path: '/boards', lazy: page(() => import('../features/boards/BoardsPage.jsx'), ['boards']) },
          // Where a provider's sign-in comes back to, and the link in "your inbox needs you".
          { path: '/inboxes', lazy: page(() => import('../features/inboxes/InboxesPage.jsx'), ['inboxes']) },
          {
            path: '/inboxes/:inboxId',
            lazy: page(() => import('../features/inboxes/InboxPage.jsx'), ['inboxes']),
          },
          {
            path: '/boards/:boardId',
            lazy: page(() => import('../features/boards/BoardLayout.jsx'), ['boards', 'tickets']),
            children: [
              { index: true, lazy: page(() => import('../features/tickets/TicketListPage.jsx'), ['tickets']) },
              { path: 'settings', lazy: page(() => import('../features/boards/BoardSettingsPage.jsx'), ['boards']) },
              {
                path: 'tickets/:ticketId',
                lazy: page(() => import('../features/tickets/TicketDetailPage.jsx'), ['tickets']),
              },
            ],
          },
        ],
      },
    ],
  },
  {
    element: <RouteFrame />,
    children: [{ path: '*', lazy: page(() => import('./NotFoundPage.jsx')) }],
  },
];

// The root: while the first route's code loads, the same spinner any page shows.
export const routes = [{ hydrateFallbackElement: <LoadingState />, children: tree }];
