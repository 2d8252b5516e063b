"""Routes of the etl app, included at the site root: the Breezeway webhook receiver."""

from django.urls import path

from etl.webhooks.events import KINDS
from etl.webhooks.receive import receive

urlpatterns = [
    path(
        f"webhooks/breezeway/<str:region_code>/{kind}/",
        receive,
        {"kind": kind},
        name=f"webhook-{kind}",
    )
    for kind in KINDS
]
