"""SQL: the services log's view of the registry, and its own records."""
