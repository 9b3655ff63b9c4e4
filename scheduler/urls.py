from django.urls import path

from scheduler.api import views

urlpatterns = [
    path("api/scheduler/status", views.StatusApi.as_view(), name="scheduler-status"),
    path("api/scheduler/queue", views.QueueApi.as_view(), name="scheduler-queue"),
    path("api/scheduler/running", views.RunningApi.as_view(), name="scheduler-running"),
    path("api/scheduler/completed", views.CompletedApi.as_view(), name="scheduler-completed"),
    path("api/scheduler/task", views.TaskCreateApi.as_view(), name="scheduler-task"),
    path("api/scheduler/task/<str:task_id>", views.TaskDetailApi.as_view(), name="task-detail"),
    path("api/scheduler/task/<str:task_id>/retry", views.TaskRetryApi.as_view(), name="task-retry"),
    path(
        "api/scheduler/task/<str:task_id>/decide",
        views.TaskDecideApi.as_view(),
        name="task-decide",
    ),
    path("api/scheduler/pause", views.PauseApi.as_view(), name="scheduler-pause"),
    path("api/scheduler/resume", views.ResumeApi.as_view(), name="scheduler-resume"),
    path("api/scheduler/start", views.StartApi.as_view(), name="scheduler-start"),
    path("api/scheduler/stop", views.StopApi.as_view(), name="scheduler-stop"),
]
