"""How staff and systems reach the notifier: HTTP."""
