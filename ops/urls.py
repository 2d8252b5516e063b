"""Routes of the ops app, included at the site root: /metrics."""

from django.urls import path

from ops.views import metrics

urlpatterns = [path("metrics", metrics, name="metrics")]
