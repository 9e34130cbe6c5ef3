"""How the assessment is reached: its HTTP API, the scoreboard stream, exports and the page."""
