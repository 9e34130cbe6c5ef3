"""``python -m assessment``: the assessment service over HTTP (port 8103 unless HTTP_PORT says otherwise)."""

from __future__ import annotations

import uvicorn

from assessment.bootstrap import bootstrap


def main() -> None:
    service = bootstrap()
    uvicorn.run(service.app, host=service.settings.http_host, port=service.settings.http_port, log_config=None)


if __name__ == "__main__":
    main()
