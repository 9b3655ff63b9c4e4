"""Discovery: prospects found through a platform's service, the qualifying ones upserted in
the CRM."""

from __future__ import annotations

from typing import Any

from crm.client import CrmError, get_client
from dm.clients import UnifiedDMClient
from safari_auto.http import ServiceError
from scheduler.errors import TaskError


def prospects_discover(
    *, client: UnifiedDMClient, platform: str, criteria: dict[str, Any]
) -> dict[str, Any]:
    """Ask the service for candidates matching `criteria`; upsert those that qualify."""
    try:
        candidates = client.discover(platform, **criteria)
    except ServiceError as exc:
        raise TaskError(f"discovery failed: {exc}", permanent=exc.permanent) from exc
    crm = get_client()
    upserted: list[str] = []
    for candidate in candidates:
        if not candidate["qualifies"] or not candidate["username"]:
            continue
        try:
            crm.contact_upsert(
                platform=platform,
                username=candidate["username"],
                display_name=candidate["display_name"] or None,
            )
        except CrmError as exc:
            raise TaskError(f"the CRM refused a prospect: {exc}", permanent=exc.permanent) from exc
        upserted.append(candidate["username"])
    return {"found": len(candidates), "upserted": len(upserted), "usernames": upserted[:50]}
