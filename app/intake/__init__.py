"""Mail intake: parse a raw message, classify it (auto-reply, bounce), and ingest it
(de-duplicate, thread, route, place or park in standby). Stands above the domains and
calls them; only the workers and the entry points import it. parse and classify touch
no database.
"""
