"""An inbox made due now (created, its settings changed, re-activated, "poll now",
reconnected) announces it: NOTIFY inbox_due, which the inbox workers LISTEN to, so a
new inbox is read at once rather than at the workers' next look.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 05:45:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Delivered when the transaction commits (never for a rolled-back one), once per
    # transaction however many rows it touched. clock_timestamp(): now() is when the
    # transaction began, before the application stamped the row; and a few seconds'
    # grace for an application host whose clock runs ahead of the database's (a
    # worker puts an inbox off by its poll interval, ten seconds at least).
    op.execute(
        """
        CREATE FUNCTION notify_inbox_due() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('inbox_due', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER inbox_due
        AFTER INSERT OR UPDATE OF next_poll_at, is_active ON email_inboxes
        FOR EACH ROW
        WHEN (NEW.is_active AND NEW.next_poll_at <= clock_timestamp() + interval '5 seconds')
        EXECUTE FUNCTION notify_inbox_due()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER inbox_due ON email_inboxes")
    op.execute("DROP FUNCTION notify_inbox_due()")
