"""The notifier service: who must be told (inflow notices, reminders, verification requests, rectification orders)."""
