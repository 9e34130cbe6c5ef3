"""Pure decisions: given what is known and a command, which events — or why not. No I/O."""
