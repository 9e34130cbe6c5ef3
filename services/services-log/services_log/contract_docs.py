"""``python -m services_log.contract_docs``: write the services log's AsyncAPI document (generated
by FastStream from the broker's subscribers and publishers) and its OpenAPI document into
docs/contract/. A test fails when the committed files differ from what the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from faststream.specification import AsyncAPI

from services_log import __version__
from services_log.bootstrap import DESCRIPTION, bootstrap
from services_log.settings import ServicesLogSettings

CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "contract"
ASYNCAPI = CONTRACT / "asyncapi" / "services-log.json"
OPENAPI = CONTRACT / "openapi" / "services-log.json"

# The documents describe production: no test namespace, whatever this shell's environment says.
_DOCUMENTED = {"kafka_bootstrap_servers": "kafka:9092", "topic_namespace": "", "services_log_schema": "services_log"}


def documents() -> dict[Path, str]:
    service = bootstrap(ServicesLogSettings(**_DOCUMENTED))
    asyncapi = AsyncAPI(service.broker, title="services-log", version=__version__, description=DESCRIPTION)
    return {
        ASYNCAPI: _pretty(json.loads(asyncapi.to_specification().to_json())),
        OPENAPI: _pretty(service.app.openapi()),
    }


def _pretty(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"  # stable order


def main() -> None:
    for path, text in documents().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
