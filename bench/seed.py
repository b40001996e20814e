"""Filling the bench database: managers, boards, a million tickets with their first
history row, and as many rows for the ceiling app, in set-based SQL."""

from __future__ import annotations

import asyncpg

from app.core.security import hash_password

BOARDS = 10  # the bench manager's board is the first; the others belong to others
PASSWORD = "bench-password-1"
MANAGER_EMAIL = "bench@example.com"
FORM_ID = "bench-form-0123456789abcdef"
WORDS = (
    "printer laptop network screen login invoice vpn mouse keyboard password "
    "drukarka sieć ekran faktura hasło monitor serwer telefon kabel projektor"
).split()


async def seed(dsn: str, tickets: int) -> dict[str, int]:
    """Returns the ids the scenarios need (the bench manager's board)."""
    conn = await asyncpg.connect(dsn)
    try:
        words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
        await conn.execute(
            "INSERT INTO managers (email, password_hash, full_name, is_email_verified) "
            "SELECT CASE WHEN i = 1 THEN $1 ELSE 'other' || i || '@example.com' END, $2, "
            "'Manager ' || i, true FROM generate_series(1, $3) AS i",
            MANAGER_EMAIL,
            await hash_password(PASSWORD),
            BOARDS,
        )
        await conn.execute(
            "INSERT INTO boards (manager_id, name, public_id) "
            "SELECT m.id, 'Board ' || m.id, CASE WHEN m.email = $1 THEN $2 "
            "ELSE 'form-0123456789abcdef-' || m.id END FROM managers m",
            MANAGER_EMAIL,
            FORM_ID,
        )
        board = await conn.fetchval("SELECT id FROM boards WHERE public_id = $1", FORM_ID)
        # Dropped and made again after the load: building an index once is much faster
        # than keeping it up to date through a million inserts.
        await conn.execute("DROP INDEX ix_tickets_search_vector")
        await conn.execute(
            f"""
            INSERT INTO tickets (uuid, board_id, title, description, reporter_email,
                                 reporter_name, source, state, language, closed_at,
                                 created_at, updated_at)
            SELECT gen_random_uuid(),
                   (SELECT min(id) FROM boards) + (i % {BOARDS}),
                   initcap(w[1 + i % 20]) || ' ' || w[1 + (i / 20) % 20] || ' problem ' || i,
                   'The ' || w[1 + (i / 7) % 20] || ' near the ' || w[1 + (i / 3) % 20]
                     || ' stopped working on ' || (i % 28 + 1) || ' March. Reported by '
                     || 'someone in room ' || (i % 500) || '.',
                   'reporter' || i || '@example.com',
                   'Reporter ' || i,
                   CASE WHEN i % 3 = 0 THEN 'email' ELSE 'web' END,
                   s,
                   CASE WHEN i % 4 = 0 THEN 'pl' ELSE 'en' END,
                   CASE WHEN s IN ('closed', 'rejected') THEN t END,
                   t, t
            FROM generate_series(1, $1) AS i,
                 LATERAL (SELECT {words} AS w) AS vocabulary,
                 LATERAL (SELECT (ARRAY['new', 'in_progress', 'closed', 'rejected'])
                                 [1 + (i / 10) % 4] AS s,
                                 now() - make_interval(secs => ($1 - i) * 30) AS t) AS x
            """,
            tickets,
        )
        await conn.execute(
            "INSERT INTO ticket_status_changes (ticket_id, from_state, to_state, changed_at) "
            "SELECT id, NULL, 'new', created_at FROM tickets"
        )
        await conn.execute(
            "CREATE INDEX ix_tickets_search_vector ON tickets USING gin (search_vector)"
        )
        await conn.execute(
            "INSERT INTO bench_items (uuid, title, description, email, created_at) "
            "SELECT uuid, title, description, reporter_email, created_at FROM tickets"
        )
        await conn.execute("VACUUM ANALYZE")
        return {"board_id": int(board)}
    finally:
        await conn.close()


async def sample_uuids(dsn: str, count: int) -> tuple[list[str], list[str]]:
    """Random existing keys: (ticket uuids, ceiling item uuids)."""
    conn = await asyncpg.connect(dsn)
    try:
        tickets = await conn.fetch(
            "SELECT uuid FROM tickets TABLESAMPLE SYSTEM (5) LIMIT $1", count
        )
        items = await conn.fetch(
            "SELECT uuid FROM bench_items TABLESAMPLE SYSTEM (5) LIMIT $1", count
        )
        return [str(r["uuid"]) for r in tickets], [str(r["uuid"]) for r in items]
    finally:
        await conn.close()
