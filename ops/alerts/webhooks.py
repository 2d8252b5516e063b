"""The place for "webhooks silent while syncs find changes", once webhooks exist (issue 14)."""

from ops.alerts.conditions import Condition


def silent_webhooks() -> list[Condition]:
    """Not a check yet: Breezeway webhooks are not received (issue 14), so there is no event
    to miss. When they are, return a "webhooks_silent" condition per region whose syncs
    changed rows while no event arrived for as long, and add this to ops.alerts.check.CHECKS.
    """
    raise NotImplementedError("webhooks are not received yet (issue 14)")
