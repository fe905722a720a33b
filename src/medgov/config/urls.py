from django.contrib import admin
from django.urls import include, path

from medgov.interfaces.api.main import urls as api_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api_urls()),
    path("quality/", include("medgov.interfaces.web.urls_quality")),
    path("reports/", include("medgov.interfaces.web.urls_reports")),
    path("safety/", include("medgov.interfaces.web.urls_safety")),
    path("staff/", include("medgov.interfaces.web.urls_staff")),
    path("", include("medgov.interfaces.web.urls")),
]
