"""The core: settings, the database (declarative base, engine and sessions, the
embedded PostgreSQL), request dependencies, errors and their handlers, crypto, the
clock, logging, i18n, paging. Imports nothing else of the app: it knows no table and no
domain.
"""
