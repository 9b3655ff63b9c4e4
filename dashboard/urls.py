from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("favicon.ico", RedirectView.as_view(url=static("dashboard/favicon.svg"))),
    path("dashboard/fragments", views.fragments, name="fragments"),
    path("dashboard/pause", views.pause, name="pause"),
    path("dashboard/resume", views.resume, name="resume"),
    path("dashboard/schedule", views.schedule, name="schedule"),
    path("dashboard/tasks/<int:task_id>/cancel", views.cancel, name="cancel"),
    path("dashboard/tasks/<int:task_id>/retry", views.retry, name="retry"),
    path("dashboard/tasks/<int:task_id>/reschedule", views.reschedule, name="reschedule"),
    path("dashboard/tasks/<int:task_id>/decide", views.decide, name="decide"),
]
