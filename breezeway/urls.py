"""URL routes: Django admin under /admin/, the health check at /healthz."""

from django.contrib import admin
from django.urls import path

from breezeway.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
