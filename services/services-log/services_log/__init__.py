"""The services log: what was delivered to migrants in 市中区 — services, surveys, trainings and
association activities — recorded by staff over HTTP and by departments on ``ingest.*``, and
published on ``services.events``. Its version is the installed package's (pyproject.toml)."""
