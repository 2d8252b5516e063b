"""Helpers shared by tests: scratch PostgreSQL databases and running manage.py like a user."""
