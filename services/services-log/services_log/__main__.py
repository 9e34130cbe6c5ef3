"""``python -m services_log``: the services log, on its HTTP port, with its background loops."""

from __future__ import annotations

from platform_kit.runtime import serve
from services_log.bootstrap import Settings, build


def main() -> None:
    settings = Settings()
    serve(build(settings).app, settings)


if __name__ == "__main__":
    main()
