"""Tickets: calls, recordings, tickets and their event log."""
