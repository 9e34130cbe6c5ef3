"""How commands reach the registry: staff over HTTP, departments over Kafka."""
