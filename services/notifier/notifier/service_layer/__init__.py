"""The notifier's moving parts: the projection that decides, the scheduler that wakes
timers, and one delivery worker per channel."""
