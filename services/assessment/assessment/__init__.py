"""The assessment service: coverage views, the scoreboard and history as of any date."""
