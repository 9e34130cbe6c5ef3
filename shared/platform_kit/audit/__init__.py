"""Audit: tamper evidence for every event store, and what auditors run against it.

- :mod:`.canonical`: the bytes of a stored event that the chain seals, and the link function.
- :mod:`.chain`: the ``event_chain`` and ``audit_anchor`` tables, and the sealing loop the
  runtime runs beside every event store (the append path is not touched).
- :mod:`.verify`: recompute the chain and say exactly what was edited, deleted, inserted or
  moved, and where.
- :mod:`.bundle`: a signed, self-contained export of a unit's figures and the events behind
  them, checkable offline.

See docs/audit.md.
"""
