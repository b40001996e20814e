"""A manager's IMAP/SMTP mailboxes: settings with encrypted passwords, the IMAP
client, the connection test. Imports the core, the outbox and auth.
"""
