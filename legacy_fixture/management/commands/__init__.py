"""make_legacy_db: the legacy fixture's one command."""
