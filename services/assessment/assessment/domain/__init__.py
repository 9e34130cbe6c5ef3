"""The assessment's pure core: periods and clocks, facts drawn from events, people's
timelines, the indicator rules, coverage, scores and decisions. No I/O in here."""
