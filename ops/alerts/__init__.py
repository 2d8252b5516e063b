"""Alerts: conditions a person must hear about, their stored state, and their delivery."""
