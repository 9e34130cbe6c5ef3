"""The assessment's edges in PostgreSQL: its tables (facts, bi-temporal; the live coverage view;
what was announced), reading its own decisions back from its event store, and the change feed
(LISTEN) that wakes the scoreboard's readers."""
