"""Where the registry meets PostgreSQL: the key vault and the read model."""
