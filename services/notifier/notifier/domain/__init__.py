"""The notifier's decisions, free of I/O: given an event and what is known, who must be told
what, now or later, and which waiting reminders have become pointless."""
