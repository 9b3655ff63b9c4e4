"""Platform clients: the only code in `dm` that speaks HTTP to the automation services.

`UnifiedDMClient` (DMs and discovery) and `CommentsClient` are what the rest of the app uses;
every send comes back as a `SendResult`, or raises `SendOutcomeUnknown` when the request left
and no answer came back.
"""

from .comments import CommentsClient, CommentServiceClient
from .dm import DMClient, InstagramDMClient, TikTokDMClient, TwitterDMClient
from .results import SendOutcomeUnknown, SendResult
from .types import Candidate, Conversation, Health, Message, SessionStatus
from .unified import UnifiedDMClient

__all__ = [
    "Candidate",
    "CommentServiceClient",
    "CommentsClient",
    "Conversation",
    "DMClient",
    "Health",
    "InstagramDMClient",
    "Message",
    "SendOutcomeUnknown",
    "SendResult",
    "SessionStatus",
    "TikTokDMClient",
    "TwitterDMClient",
    "UnifiedDMClient",
]
