"""One-way forwarding to Jira Cloud and Trello: a board's integration settings,
external tickets, the platform clients (base, jira, trello: HTTP only, no database).
A work domain: may import boards, tickets, standby, inboxes, auth, the outbox and the
core.
"""
