import { createBrowserRouter } from 'react-router';
import { RouterProvider } from 'react-router/dom';
import { routes } from './routes.jsx';

/** Sign-in and the manager's screens: the router, each page a lazily loaded route. */
export default function ManagerApp() {
  return <RouterProvider router={router} />;
}

const router = createBrowserRouter(routes);
