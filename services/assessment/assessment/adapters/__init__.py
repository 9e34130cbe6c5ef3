"""The assessment's tables in PostgreSQL: facts (bi-temporal), the live coverage view, what
was announced, and reading the service's own decisions back from its event store."""
