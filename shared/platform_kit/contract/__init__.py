"""The public contract's event types: one payload model per event type, one module per
publishing service. ``catalogue`` knows them all; consumers load payloads through it, so old
schema versions are upcast on the way in.

Each service owns its module (registry owns ``registry.py``...). A change to a payload is
either additive (a new optional field) or a new ``schema_version`` with an upcaster.
Every event type has a JSON example in docs/contract/examples/ that a test validates.
"""

from platform_kit.catalogue import EventCatalogue

catalogue = EventCatalogue()

# Importing the modules registers their event types in ``catalogue``.
from platform_kit.contract import assessment, notifier, registry, services_log  # noqa: E402,F401

__all__ = ["catalogue"]
