"""A local, seeded simulator of the Breezeway public API (standard library only)."""

from simulator.config import Faults, Quirks, SimulatorConfig
from simulator.core import Simulator
from simulator.server import ServerHandle
from simulator.webhooks import WebhookDelivery
from simulator.world import Company

__all__ = [
    "Company",
    "Faults",
    "Quirks",
    "ServerHandle",
    "Simulator",
    "SimulatorConfig",
    "WebhookDelivery",
]
