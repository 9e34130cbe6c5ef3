"""Handlers: load the streams a command is about, decide, append (one transaction)."""
