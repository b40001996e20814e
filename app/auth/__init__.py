"""Managers: sign-up, e-mail verification, sign-in, token rotation, password reset,
the profile. Imports the core, the outbox and the rate limits; every other domain
imports its Manager.
"""
