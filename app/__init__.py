"""The Simple Issue Tracker's backend, in layers; each imports only those beneath it:

    core ← outbox, ratelimit ← auth ← inboxes ← boards, tickets, integrations,
    standby ← intake ← workers ← entry (main, __main__, demo, models, migrations)

The contracts that keep it so are in pyproject.toml ([tool.importlinter]); see
docs/architecture.md.
"""
