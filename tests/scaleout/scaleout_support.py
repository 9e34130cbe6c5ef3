"""What the scale-out tests share: the service harness and the e2e API helpers, loaded by path: tests/ is not
a package, and which test folder pytest puts on sys.path first depends on collection order."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


harness = _load("district_harness", TESTS / "service_processes.py")
district_api = _load("scaleout_district_api", TESTS / "e2e" / "district_api.py")
