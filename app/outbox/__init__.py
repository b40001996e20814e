"""The outbox: mail the system sends (verification, reset, acknowledgements, status
changes) is rendered from templates and queued in outgoing_emails inside the caller's
transaction; app/workers/mail_sender.py sends it over SMTP after commit. Imports only
the core; the domains import it.
"""
