import 'bootstrap/dist/css/bootstrap.min.css';
import './styles.css';
import { StrictMode, Suspense, lazy } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'react-redux';
import PublicApp from './app/PublicApp.jsx';
import { startEffects } from './app/effects.js';
import { makeStore } from './app/store.js';
import { startI18n } from './i18n/index.js';

// Two apps share this entry and its store: the reporter's public pages (small,
// no router, in the entry itself) and everything else (the router with the
// manager's screens, downloaded only when the path is not a public one).
const isPublic = /^\/(b|t)\//.test(window.location.pathname);
const App = isPublic ? PublicApp : lazy(() => import('./app/ManagerApp.jsx'));

const store = makeStore();
startI18n(isPublic ? ['common', 'errors', 'public'] : ['common', 'errors']);
startEffects(store);

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <Provider store={store}>
      <Suspense fallback={null}>
        <App pathname={window.location.pathname} />
      </Suspense>
    </Provider>
  </StrictMode>,
);
