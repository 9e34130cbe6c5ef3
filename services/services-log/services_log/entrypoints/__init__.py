"""Where commands come in: staff over HTTP, departments on ingest.* topics."""
