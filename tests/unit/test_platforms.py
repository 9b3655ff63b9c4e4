from dashboard.activity import platform_label
from dm.api import DmSendApi
from dm.clients import CommentsClient, UnifiedDMClient
from dm.limits import label
from dm.models import PlatformAccount
from dm.platforms import COMMENT_PLATFORMS, DM_PLATFORMS, PLATFORMS


def test_the_dm_and_comment_platforms_are_the_ones_the_services_run():
    assert DM_PLATFORMS == ("instagram", "tiktok", "twitter")
    assert COMMENT_PLATFORMS == ("threads", "instagram", "tiktok", "twitter")
    assert PLATFORMS == ("instagram", "tiktok", "twitter", "threads")


def test_the_model_the_api_and_the_clients_read_the_one_list():
    assert [value for value, _ in PlatformAccount._meta.get_field("platform").choices] == list(
        PLATFORMS
    )
    assert list(DmSendApi.InputSerializer().fields["platform"].choices) == list(DM_PLATFORMS)
    assert list(CommentsClient()._clients) == list(COMMENT_PLATFORMS)
    assert UnifiedDMClient().platforms == list(DM_PLATFORMS)


def test_x_is_called_x_wherever_a_platform_is_named():
    assert platform_label("twitter") == "X"
    assert platform_label("sora") == "Sora"
    assert label("twitter") == "X"
