"""Webhooks from Breezeway: the receiver, the events it stores, their processing, health."""
