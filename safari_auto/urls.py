from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from safari_auto import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("dashboard.urls")),
    path("", include("scheduler.urls")),
    path("", include("dm.urls")),
    path("", include("sora.urls")),
    path("", include("crm.urls")),
]

handler400 = "safari_auto.errors.bad_request"
handler403 = "safari_auto.errors.permission_denied"
handler404 = "safari_auto.errors.not_found"
handler500 = "safari_auto.errors.server_error"
