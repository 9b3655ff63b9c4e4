"""Query parameters of the CRM routes, as `QuerySerializer`s (safari_auto.api): one
declaration both validates (400 naming the parameter) and documents."""

from __future__ import annotations

from rest_framework import serializers as S

from crm.models import Campaign, Platform, Stage
from crm.selectors import CONTACT_SORTS
from crm.text import search_tokens
from safari_auto.api import QuerySerializer
from safari_auto.bounds import MAX_ID

MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1
MAX_SEARCH_WORDS = 32


def _limit(default: int) -> S.IntegerField:
    return S.IntegerField(required=False, default=default, min_value=1, max_value=MAX_LIMIT)


def _platform(required: bool = False) -> S.ChoiceField:
    return S.ChoiceField(choices=Platform.choices, required=required)


def _id() -> S.IntegerField:
    return S.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class LimitQuery(QuerySerializer):
    limit = _limit(50)


class PagedQuery(LimitQuery):
    offset = S.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)


def _search_words(value: str) -> None:
    if len(search_tokens(value)) > MAX_SEARCH_WORDS:
        raise S.ValidationError(f"at most {MAX_SEARCH_WORDS} words")


class ContactListQuery(PagedQuery):
    platform = _platform()
    stage = S.ChoiceField(choices=Stage.choices, required=False)
    tag = S.CharField(required=False, max_length=64)
    search = S.CharField(required=False, max_length=200, validators=[_search_words])
    do_not_contact = S.BooleanField(required=False, allow_null=True, default=None)
    min_score = S.IntegerField(required=False, min_value=0, max_value=100)
    max_score = S.IntegerField(required=False, min_value=0, max_value=100)
    sort = S.ChoiceField(choices=sorted(CONTACT_SORTS), required=False, default="updated_at")
    order = S.ChoiceField(choices=["asc", "desc"], required=False, default="desc")


class ConversationListQuery(PagedQuery):
    platform = _platform()
    contact_id = _id()
    active = S.BooleanField(required=False, allow_null=True, default=None)


class ConversationStateQuery(QuerySerializer):
    platform = _platform(required=True)
    username = S.CharField(max_length=150)


class PlatformAccountQuery(QuerySerializer):
    platform = _platform()
    contact_id = _id()


class CampaignListQuery(QuerySerializer):
    status = S.ChoiceField(choices=Campaign.Status.choices, required=False)
    platform = _platform()


class TargetsQuery(QuerySerializer):
    platform = _platform(required=True)
    limit = _limit(10)


class TagQuery(QuerySerializer):
    tag = S.CharField(required=False, max_length=64)
