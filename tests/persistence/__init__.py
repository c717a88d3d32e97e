"""Persistence tests: SQLite state across restarts, processes, crashes and failures."""
