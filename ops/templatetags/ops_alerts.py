"""Template tag for the admin index: the open alerts, for staff only."""

from django import template
from django.template.context import Context

from ops.models import Alert

register = template.Library()

# More than this reads as a list to work through: the changelist has them all.
SHOWN = 20


@register.simple_tag(takes_context=True)
def open_alerts(context: Context) -> dict:
    """{"alerts": the first SHOWN open alerts, "count": how many are open, "can_view": may
    open the alert list} (empty for anyone but active staff)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return {"alerts": [], "count": 0, "can_view": False}
    alerts = Alert.objects.filter(cleared_at__isnull=True).order_by("-opened_at", "-id")
    shown = list(alerts[: SHOWN + 1])
    count = len(shown) if len(shown) <= SHOWN else alerts.count()
    can_view = user.has_perm("ops.view_alert")
    return {"alerts": shown[:SHOWN], "count": count, "can_view": can_view}
