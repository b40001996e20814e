// Reads the service's /ready answer into a state the placeholder page shows.
export async function readServiceState(fetchImpl = fetch) {
  try {
    const response = await fetchImpl('/ready', { headers: { Accept: 'application/json' } });
    return response.ok ? 'ready' : 'unavailable';
  } catch {
    return 'unreachable';
  }
}

export const STATE_TEXT = {
  checking: 'Checking the service…',
  ready: 'The service is running and its database answers.',
  unavailable: 'The service is up, but its database does not answer.',
  unreachable: 'The service cannot be reached.',
};
