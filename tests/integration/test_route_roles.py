"""Every HTTP route, found through the URL resolver, asked by every kind of caller.

- anonymous: only PUBLIC answers; everything else 401, 403 or a redirect to the login page;
- an active staff user without a role: 403 (the admin sends them to its login page);
- a viewer (not staff): reads answer, writes 403, the admin is closed;
- a staff viewer, an operator (staff) and a superuser: every route they may use answers
  something other than 401/403 (the route's own validation and 404s are fine);
- a CRM key: the CRM API only (routes included from crm.urls), nothing else.

A route added without a role fails here: DRF's default refuses everyone (so operators get
403), and a plain Django view without a check lets the anonymous caller in.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from crm.services import apikey_create
from tests.conftest import make_user
from tests.routes import Route, http_routes

# The only routes an anonymous caller may use. /api/health (the CRM's) is not among them:
# the old CRM client sends its key on every call; liveness monitors use /health.
PUBLIC = {
    "/health": "liveness",
    "/admin/login/": "the login page",
    "/admin/logout/": "logging out (redirects to the login page when not logged in)",
    "/favicon.ico": "a redirect to a static file",
}
LOGIN = "/admin/login/"
METHODS = ("get", "post", "patch", "delete")
ADMIN_METHODS = ("get", "post")  # the admin's forms and actions use nothing else
URLCONFS = ["safari_auto.urls", "safari_auto.urls_crm"]
SESSION_PRINCIPALS = {
    "norole": {"is_staff": True},
    "viewer": {"role": "viewer"},
    "staff_viewer": {"role": "viewer", "is_staff": True},
    "operator": {"role": "operator", "is_staff": True},
}


def _denied(answer, *, login_redirect_ok: bool) -> bool:
    if answer.status_code in (401, 403):
        return True
    location = answer.get("Location", "")
    return login_redirect_ok and answer.status_code == 302 and location.startswith(LOGIN)


def _principals() -> dict[str, Client]:
    clients: dict[str, Client] = {"anonymous": Client()}
    for name, spec in SESSION_PRINCIPALS.items():
        flags = dict(spec)
        user = make_user(name, flags.pop("role", None), **flags)
        clients[name] = Client()
        clients[name].force_login(user)
    root = get_user_model().objects.create_superuser("root", "", "root-pass-123")
    clients["superuser"] = Client()
    clients["superuser"].force_login(root)
    _, raw = apikey_create(name="route-walk")
    clients["crm_key"] = Client(HTTP_X_API_KEY=raw)
    return clients


def _problems(route: Route, method: str, answers: dict) -> list[str]:
    """What is wrong with the answers to one (route, method); [] when all is right."""
    admin = route.origin == "admin"
    crm = route.origin == "crm.urls"
    write = method != "get"
    problems = [f"{who} got {a.status_code}" for who, a in answers.items() if a.status_code >= 500]
    if route.path in PUBLIC:
        return problems
    if admin:
        # Closed to anyone without staff and a role; inside, Django's model permissions
        # decide what a staff viewer or operator may do (tests/integration/test_admin_roles.py).
        must_open: set[str] = set()
        must_deny = set(ADMIN_OUTSIDERS)
    else:
        must_open = {"superuser", "operator"} | (set() if write else {"viewer"})
        must_deny = {"anonymous", "norole", "crm_key"} | ({"viewer"} if write else set())
    if crm:
        must_open.add("crm_key")
        must_deny.discard("crm_key")
    for who in must_open:
        if _denied(answers[who], login_redirect_ok=True):
            problems.append(f"{who} was refused ({answers[who].status_code})")
    for who in must_deny:
        login_ok = admin or who in ("anonymous", "crm_key")
        if not _denied(answers[who], login_redirect_ok=login_ok):
            problems.append(f"{who} was let in ({answers[who].status_code})")
    return problems


ADMIN_OUTSIDERS = ("anonymous", "norole", "viewer", "crm_key")


def _ask(clients: dict[str, Client], route: Route, method: str) -> dict | None:
    """The principals' answers, or None when the route has no such method (405 to a
    superuser). In the admin only the outsiders are asked: the rest is Django's."""
    if route.origin == "admin":
        return {who: getattr(clients[who], method)(route.path) for who in ADMIN_OUTSIDERS}
    answers = {"superuser": getattr(clients["superuser"], method)(route.path)}
    if answers["superuser"].status_code == 405:
        return None
    for who, client in clients.items():
        if who not in ("superuser", "staff_viewer"):  # outside the admin, staff means nothing
            answers[who] = getattr(client, method)(route.path)
    return answers


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_every_route_answers_each_role_as_it_should(urlconf, settings, db):
    settings.ROOT_URLCONF = urlconf
    clients = _principals()
    report = []
    for route in http_routes(urlconf):
        if route.origin == "admin" and urlconf != URLCONFS[0]:
            continue  # the same admin site as the full deployment's, walked there
        for method in ADMIN_METHODS if route.origin == "admin" else METHODS:
            answers = _ask(clients, route, method)
            if route.path == "/admin/logout/":
                _relogin(clients)
            if answers is not None:
                report += [
                    f"{method.upper()} {route.path}: {p}" for p in _problems(route, method, answers)
                ]
    assert report == [], "\n".join(report)


def _relogin(clients: dict[str, Client]) -> None:
    users = get_user_model().objects
    for name in [*SESSION_PRINCIPALS, "superuser"]:
        clients[name].force_login(users.get(username="root" if name == "superuser" else name))


def test_the_walk_finds_every_kind_of_route():
    """The walk is not vacuous: it reaches the API, the dashboard, the admin, the schema
    and the video files, each at a path that resolves to its own pattern."""
    paths = {route.path for route in http_routes()}
    for expected in (
        "/api/scheduler/task",
        "/api/scheduler/task/1/retry",
        "/api/contacts/1",
        "/dashboard/tasks/1/cancel",
        "/sora/videos/1/file",
        "/api/schema/",
        "/api/docs/",
        "/admin/",
        "/admin/scheduler/task/1/change/",
    ):
        assert expected in paths
