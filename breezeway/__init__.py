"""Breezeway mirror: the Django project and the app holding the mirrored Breezeway data."""
