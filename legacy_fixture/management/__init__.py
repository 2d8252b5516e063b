"""Django management commands of the legacy fixture."""
