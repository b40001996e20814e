"""Tickets, their state machine and history, the public form and the status page,
and the mail that tells a reporter. A work domain: may import boards, integrations,
standby, inboxes, auth, the outbox and the core.
"""
