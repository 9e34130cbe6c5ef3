"""How the assessment is reached: the coverage projection (registry and services-log events in),
its HTTP API (reads, decisions), the scoreboard stream, exports and the page."""
