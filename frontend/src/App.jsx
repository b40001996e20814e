import { useEffect, useState } from 'react';
import { STATE_TEXT, readServiceState } from './health.js';

// Placeholder until the SPA issue: shows that the bundle is served and the API answers.
export default function App({ initialState = 'checking' }) {
  const [state, setState] = useState(initialState);

  useEffect(() => {
    let cancelled = false;
    readServiceState().then((next) => {
      if (!cancelled) setState(next);
    });
    return () => {
      cancelled = true;
    };
  }, []);

  return (
    <main>
      <h1>Simple Issue Tracker</h1>
      <p role="status" data-state={state}>
        {STATE_TEXT[state]}
      </p>
      <p>
        <a href="/api/docs">API documentation</a>
      </p>
    </main>
  );
}
