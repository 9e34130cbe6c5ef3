"""``python -m registry``: the registry's HTTP API, its department ingest and its relay, in one process."""

from __future__ import annotations

import uvicorn

from platform_kit.logs import configure_logging

from registry.bootstrap import build
from registry.settings import RegistrySettings


def main() -> None:
    settings = RegistrySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    service = build(settings)
    # log_config=None: uvicorn's loggers go through the kit's handler, which masks personal data.
    uvicorn.run(service.app, host=settings.http_host, port=settings.http_port, log_config=None)


if __name__ == "__main__":
    main()
