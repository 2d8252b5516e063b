"""Webhook conditions: a region whose webhooks went quiet while its syncs kept finding changes
(the old receiver's ten-week silence, caught within WEBHOOK_QUIET_HOURS)."""

from breezeway.models import Region
from etl.webhooks.health import webhook_health
from ops.alerts.conditions import Condition
from ops.models import Alert


def silent_webhooks() -> list[Condition]:
    """One condition per active region and pushed kind that is quiet (etl.webhooks.health)."""
    conditions = []
    regions = Region.objects.filter(is_active=True).order_by("code")
    for code, health in webhook_health(regions).items():
        for quiet in health.quiet:
            conditions.append(
                Condition(
                    key=f"webhooks_silent:{code}:{quiet.kind}",
                    kind=Alert.Kind.WEBHOOKS_SILENT,
                    region_code=code,
                    entity=quiet.kind,
                    message=(
                        f"webhooks of region {code}: {quiet.summary}; check the subscription "
                        "in Breezeway"
                    ),
                )
            )
    return conditions
