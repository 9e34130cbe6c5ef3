"""``python -m assessment``: the assessment service over HTTP (port 8103 unless HTTP_PORT says otherwise)."""

from __future__ import annotations

from assessment.bootstrap import Settings, build
from platform_kit.runtime import serve


def main() -> None:
    settings = Settings()
    serve(build(settings).app, settings)


if __name__ == "__main__":
    main()
