"""The HTTP CRM client hands back the shapes it promises, or a CrmError: never a stray body."""

import pytest

from crm.client import CrmError
from crm.client_http import HttpCrmClient
from safari_auto.http import Answer


@pytest.fixture
def answers(monkeypatch):
    sent: list[Answer] = []

    def fake_call(method, url, **kwargs):
        return sent.pop(0)

    monkeypatch.setattr("crm.client_http.call", fake_call)
    return sent


def client() -> HttpCrmClient:
    return HttpCrmClient("http://crm.test", "key")


def test_objects_and_lists_of_objects_come_back_as_answered(answers):
    answers += [
        Answer(200, {"platform": "tiktok", "username": "maya"}),
        Answer(200, {"campaigns": [{"id": 1}, {"id": 2}]}),
        Answer(404, {"error": "not found"}),
    ]
    assert client().conversation_state(platform="tiktok", username="maya")["username"] == "maya"
    assert client().campaigns_active(platform="tiktok") == [{"id": 1}, {"id": 2}]
    assert client().contact_by_handle(platform="tiktok", username="nobody") is None


@pytest.mark.parametrize("body", [["a", "list"], "text", None, 3])
def test_an_answer_that_is_not_an_object_is_a_crm_error(answers, body):
    answers.append(Answer(200, body))
    with pytest.raises(CrmError, match="not an object"):
        client().conversation_state(platform="tiktok", username="maya")


@pytest.mark.parametrize(
    "body", [{}, {"targets": None}, {"targets": "x"}, {"targets": [1, 2]}, {"targets": [{}, "x"]}]
)
def test_targets_that_are_not_a_list_of_objects_are_a_crm_error(answers, body):
    answers.append(Answer(200, body))
    with pytest.raises(CrmError, match="targets"):
        client().campaign_targets(campaign_id="7", platform="tiktok", limit=5)
