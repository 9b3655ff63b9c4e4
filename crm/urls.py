"""CRM API routes (CONTRACTS.md, "Our CRM API"), plus the few crm.client needs."""

from django.urls import URLPattern, URLResolver, path

from crm.api import contacts, conversations, other

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/health", other.HealthApi.as_view(), name="crm-health"),
    path("api/stats", other.StatsApi.as_view(), name="crm-stats"),
    path("api/contacts", contacts.ContactsApi.as_view(), name="crm-contacts"),
    path("api/contacts/upsert", contacts.ContactUpsertApi.as_view(), name="crm-contact-upsert"),
    path(
        "api/contacts/do-not-contact",
        contacts.ContactDoNotContactApi.as_view(),
        name="crm-contact-dnc",
    ),
    path(
        "api/contacts/by-username/<str:platform>/<str:username>",
        contacts.ContactByUsernameApi.as_view(),
        name="crm-contact-by-username",
    ),
    path("api/contacts/<str:pk>", contacts.ContactDetailApi.as_view(), name="crm-contact"),
    path("api/contacts/<str:pk>/tags", contacts.ContactTagsApi.as_view(), name="crm-contact-tags"),
    path(
        "api/contacts/<str:pk>/interactions",
        contacts.ContactInteractionsApi.as_view(),
        name="crm-contact-interactions",
    ),
    path(
        "api/conversations", conversations.ConversationListApi.as_view(), name="crm-conversations"
    ),
    path(
        "api/conversations/state",
        conversations.ConversationStateApi.as_view(),
        name="crm-conversation-state",
    ),
    path(
        "api/conversations/<str:pk>/messages",
        conversations.ConversationMessagesApi.as_view(),
        name="crm-conversation-messages",
    ),
    path("api/messages", conversations.MessageLogApi.as_view(), name="crm-messages"),
    path("api/sync/dm", conversations.SyncDmApi.as_view(), name="crm-sync-dm"),
    path("api/platform-accounts", other.PlatformAccountsApi.as_view(), name="crm-accounts"),
    path("api/campaigns", other.CampaignsApi.as_view(), name="crm-campaigns"),
    path("api/campaigns/<str:pk>", other.CampaignDetailApi.as_view(), name="crm-campaign"),
    path(
        "api/campaigns/<str:pk>/targets",
        other.CampaignTargetsApi.as_view(),
        name="crm-campaign-targets",
    ),
    path("api/campaigns/<str:pk>/sent", other.CampaignSentApi.as_view(), name="crm-campaign-sent"),
]
