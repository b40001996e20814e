/** The public form's address, on the origin the manager is using. */
export const publicFormUrl = (board) => `${window.location.origin}/b/${board.public_id}`;
