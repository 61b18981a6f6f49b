"""Review and takedown: the store, the CLI and (later) reports, rechecks and the reviewer UI."""
