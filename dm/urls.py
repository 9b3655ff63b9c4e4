from django.urls import URLPattern, URLResolver, path

from dm import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/dm/send", api.DmSendApi.as_view(), name="dm-send"),
    path("api/dm/conversations", api.ConversationsApi.as_view(), name="dm-conversations"),
    path("api/resources/platforms", api.PlatformsApi.as_view(), name="resources-platforms"),
    path("api/dm/accounts/<str:account_id>", api.AccountApi.as_view(), name="dm-account"),
    path("api/dm/sends/<str:task_id>/decide", api.SendDecideApi.as_view(), name="dm-decide"),
]
