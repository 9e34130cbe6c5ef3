"""Units of work: load what is known, decide, append — in one transaction."""
