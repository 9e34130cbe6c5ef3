"""``python -m notifier``: the notifier service over HTTP (port 8104 unless HTTP_PORT says)."""

from __future__ import annotations

from platform_kit.runtime import serve

from notifier.bootstrap import Settings, build


def main() -> None:
    settings = Settings()
    serve(build(settings).app, settings)


if __name__ == "__main__":
    main()
