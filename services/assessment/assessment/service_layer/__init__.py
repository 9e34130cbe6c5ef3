"""The assessment's use cases: the read side (coverage, explanations, trends, the scoreboard),
the district centre's commands (load, decide, append), and the announcer's loop."""
