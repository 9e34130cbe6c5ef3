"""``python -m notifier``: the notifier service over HTTP (port 8104 unless HTTP_PORT says)."""

from __future__ import annotations

import uvicorn

from notifier.bootstrap import Notifier
from notifier.settings import NotifierSettings


def main() -> None:
    settings = NotifierSettings()
    notifier = Notifier(settings)
    uvicorn.run(notifier.app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
