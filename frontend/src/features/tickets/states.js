// The state machine, as the API enforces it: which moves a ticket offers.
export const STATES = ['new', 'in_progress', 'closed', 'rejected'];
export const SOURCES = ['web', 'email'];

const NEXT = {
  new: ['in_progress', 'closed', 'rejected'],
  in_progress: ['closed', 'rejected'],
  closed: [],
  rejected: [],
};

export const allowedMoves = (state) => NEXT[state] ?? [];
