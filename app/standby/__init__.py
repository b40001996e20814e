"""The standby queue: unrouted mail and failed forwards, and the manager's actions
on them (assign, retry, convert, discard). A work domain: may import boards, tickets,
integrations, inboxes, auth, the outbox and the core.
"""
