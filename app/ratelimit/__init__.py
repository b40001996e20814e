"""Rate limits kept in PostgreSQL (fixed windows, shared by every replica). Imports
only the core.
"""
