"""``python -m services_log``: the services log, on its HTTP port, with its background loops."""

from __future__ import annotations

import uvicorn

from services_log.bootstrap import bootstrap


def main() -> None:
    service = bootstrap()
    settings = service.settings
    # log_config=None: the kit's logging (JSON lines, personal data masked) stays in charge.
    uvicorn.run(service.app, host=settings.http_host, port=settings.http_port, log_config=None)


if __name__ == "__main__":
    main()
