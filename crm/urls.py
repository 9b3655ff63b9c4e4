"""CRM API routes (CONTRACTS.md, "Our CRM API"), plus the few crm.client needs."""

from django.urls import URLPattern, URLResolver, path

from crm.api import contacts, conversations, other

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/health", other.HealthView.as_view(), name="crm-health"),
    path("api/stats", other.StatsView.as_view(), name="crm-stats"),
    path("api/contacts", contacts.ContactsView.as_view(), name="crm-contacts"),
    path("api/contacts/upsert", contacts.ContactUpsertView.as_view(), name="crm-contact-upsert"),
    path(
        "api/contacts/do-not-contact",
        contacts.ContactDoNotContactView.as_view(),
        name="crm-contact-dnc",
    ),
    path(
        "api/contacts/by-username/<str:platform>/<str:username>",
        contacts.ContactByUsernameView.as_view(),
        name="crm-contact-by-username",
    ),
    path("api/contacts/<str:pk>", contacts.ContactDetailView.as_view(), name="crm-contact"),
    path("api/contacts/<str:pk>/tags", contacts.ContactTagsView.as_view(), name="crm-contact-tags"),
    path(
        "api/contacts/<str:pk>/interactions",
        contacts.ContactInteractionsView.as_view(),
        name="crm-contact-interactions",
    ),
    path("api/conversations", conversations.ConversationsView.as_view(), name="crm-conversations"),
    path(
        "api/conversations/state",
        conversations.ConversationStateView.as_view(),
        name="crm-conversation-state",
    ),
    path(
        "api/conversations/<str:pk>/messages",
        conversations.ConversationMessagesView.as_view(),
        name="crm-conversation-messages",
    ),
    path("api/messages", conversations.MessagesView.as_view(), name="crm-messages"),
    path("api/sync/dm", conversations.SyncDmView.as_view(), name="crm-sync-dm"),
    path("api/platform-accounts", other.PlatformAccountsView.as_view(), name="crm-accounts"),
    path("api/campaigns", other.CampaignsView.as_view(), name="crm-campaigns"),
    path("api/campaigns/<str:pk>", other.CampaignDetailView.as_view(), name="crm-campaign"),
    path(
        "api/campaigns/<str:pk>/targets",
        other.CampaignTargetsView.as_view(),
        name="crm-campaign-targets",
    ),
    path("api/campaigns/<str:pk>/sent", other.CampaignSentView.as_view(), name="crm-campaign-sent"),
]
