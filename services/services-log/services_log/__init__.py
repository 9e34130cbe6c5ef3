"""The services-log service: what was delivered (services, surveys, trainings, association activities)."""
