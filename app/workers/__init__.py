"""The background workers (inbox poller, forwarder, mail sender) and their runner.
They claim due rows with leases and call intake and the domains; only the entry points
import them.
"""
