"""What the registry decides, as plain functions without I/O: given a stream's history and a
command, which events — or a ``Refusal`` naming the field and the reason."""
