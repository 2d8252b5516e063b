"""Duplicate analysis and remediation for any model with a natural-key UniqueConstraint."""
