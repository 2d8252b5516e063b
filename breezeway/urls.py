"""URL routes: Django admin under /admin/, the health check at /healthz."""

from django.contrib import admin
from django.urls import path

from breezeway.health import healthz

# There is no site besides the admin: without this, "View site" links to "/", a 404.
admin.site.site_url = None

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
