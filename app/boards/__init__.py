"""Boards and their routing keywords, keyword routing, and placing a report on a
board (a ticket, or an external ticket for a connected board). One of the four work
domains (boards, tickets, integrations, standby), which may import one another, auth,
inboxes, the outbox and the core; never intake, workers or the entry points.
"""
