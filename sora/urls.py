from django.urls import URLPattern, URLResolver, path

from sora import api, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/resources/sora", api.CreditsApi.as_view(), name="sora-resources"),
    path("api/sora/credits", api.CreditsApi.as_view(), name="sora-credits"),
    path("api/sora/queue-trilogy", api.QueueTrilogyApi.as_view(), name="sora-queue-trilogy"),
    path("api/sora/videos", api.QueueVideosApi.as_view(), name="sora-videos"),
    path("api/sora/trilogies", api.TrilogiesApi.as_view(), name="sora-trilogies"),
    path("sora/videos/<int:video_id>/file", views.video_file, name="sora-video-file"),
]
