from django.urls import path

from scheduler.api import views

urlpatterns = [
    path("api/scheduler/status", views.StatusView.as_view(), name="scheduler-status"),
    path("api/scheduler/queue", views.QueueView.as_view(), name="scheduler-queue"),
    path("api/scheduler/running", views.RunningView.as_view(), name="scheduler-running"),
    path("api/scheduler/completed", views.CompletedView.as_view(), name="scheduler-completed"),
    path("api/scheduler/task", views.TaskCreateView.as_view(), name="scheduler-task"),
    path("api/scheduler/task/<str:task_id>", views.TaskDetailView.as_view(), name="task-detail"),
    path(
        "api/scheduler/task/<str:task_id>/retry", views.TaskRetryView.as_view(), name="task-retry"
    ),
    path(
        "api/scheduler/task/<str:task_id>/decide",
        views.TaskDecideView.as_view(),
        name="task-decide",
    ),
    path("api/scheduler/pause", views.PauseView.as_view(), name="scheduler-pause"),
    path("api/scheduler/resume", views.ResumeView.as_view(), name="scheduler-resume"),
    path("api/scheduler/start", views.StartView.as_view(), name="scheduler-start"),
    path("api/scheduler/stop", views.StopView.as_view(), name="scheduler-stop"),
]
