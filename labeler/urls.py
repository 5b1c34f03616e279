"""URL routes of fraudloop."""

from django.contrib import admin
from django.urls import path

from labeler.views import health, home, importing

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("import/", importing.import_transactions, name="import"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "fraudloop"
admin.site.site_title = "fraudloop"
