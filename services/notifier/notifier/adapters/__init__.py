"""The notifier's own tables in its PostgreSQL schema, and the SQL that reads and writes them."""
