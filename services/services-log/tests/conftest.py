"""The services log's tests: unit/ needs nothing running, integration/ the real Kafka and PostgreSQL.
This folder is on the import path for both (services_log_facts: the messages others publish)."""
