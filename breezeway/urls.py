"""URL routes: Django admin under /admin/, /healthz, /metrics, the Breezeway webhooks."""

from django.contrib import admin
from django.urls import include, path

from breezeway.health import healthz

# There is no site besides the admin: without this, "View site" links to "/", a 404.
admin.site.site_url = None

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # By dotted path: the project package imports nothing of ops (the layer above it).
    path("", include("ops.urls")),
    path("", include("etl.urls")),
]
