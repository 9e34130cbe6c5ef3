"""``python -m registry``: the registry's HTTP API, its department ingest and its relay, in one process."""

from platform_kit.runtime import serve

from registry.bootstrap import Settings, build

if __name__ == "__main__":
    settings = Settings()
    serve(build(settings).app, settings)
