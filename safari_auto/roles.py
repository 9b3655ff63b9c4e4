"""The two roles, as Django groups carrying permissions.

- `viewer` reads: `safari_auto.read`, plus the admin's `view_*` on the project's models.
- `operator` controls: everything a viewer has, `safari_auto.operate`, and the admin's
  `add_*`, `change_*` and `delete_*` on the project's models, except the few that are
  credentials or code paths (`SUPERUSER_ONLY`, `VIEW_ONLY`), which stay with superusers.

An active user in neither group gets 403 everywhere; a superuser has every permission.
The groups are created by a data migration and topped up after every `migrate`
(`roles_sync`), so a model added later joins its roles without a new migration. Grant a role
in the admin (Users → Groups) or with `manage.py role --user NAME --role operator`.
"""

from __future__ import annotations

from typing import Any

READ = "safari_auto.read"
OPERATE = "safari_auto.operate"
VIEWER = "viewer"
OPERATOR = "operator"
ROLES = (VIEWER, OPERATOR)

# Apps whose models the roles see in the admin.
ROLE_APPS = ("scheduler", "dm", "sora", "crm")
# Credentials: neither role sees them.
SUPERUSER_ONLY = {("crm", "apikey")}
# A dotted path to a callable is code, not data: operators read it, superusers edit it.
VIEW_ONLY = {("sora", "credittrigger")}


def role_codenames(role: str, app_label: str, model: str) -> list[str]:
    """The model permissions (codenames) a role carries for one model: a pure rule."""
    if app_label not in ROLE_APPS or (app_label, model) in SUPERUSER_ONLY:
        return []
    actions = ["view"]
    if role == OPERATOR and (app_label, model) not in VIEW_ONLY:
        actions += ["add", "change", "delete"]
    return [f"{action}_{model}" for action in actions]


def roles_sync(apps: Any) -> None:
    """Create the role groups and add the permissions they should carry (never removes any,
    so a group edited in the admin keeps its extras). `apps` is a migration's or the live
    registry."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    own = {VIEWER: [READ], OPERATOR: [READ, OPERATE]}
    for role in ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for perm in permission_model.objects.select_related("content_type"):
            ct = perm.content_type
            full = f"{ct.app_label}.{perm.codename}"
            if full in own[role] or perm.codename in role_codenames(role, ct.app_label, ct.model):
                wanted.append(perm)
        group.permissions.add(*wanted)


def has_any(user: Any, *perms: str) -> bool:
    """`user.has_perm(p)` for any of `perms` (all of this app), asked of the database for
    just these. Django's ModelBackend would load every permission the user has, through
    every group, and build a set of them on every request: an operator carries a hundred-odd,
    about 2 ms of a 7 ms API read. Same answer for the ModelBackend's permissions (a user's
    own and its groups'); a principal that is no Django user (a CRM key) answers itself.
    A user an API token brought in carries its `GRANTS`, read with the token in the same
    statement this request (`role_perms`, safari_auto.tokens): no second query."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    if not isinstance(user, get_user_model()):
        return any(user.has_perm(perm) for perm in perms)
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    app = {perm.split(".", 1)[0] for perm in perms}
    codenames = [perm.split(".", 1)[1] for perm in perms]
    if app != {"safari_auto"}:
        raise ValueError(f"has_any checks this app's permissions only, not {sorted(app)}")
    read_with_token = getattr(user, "role_perms", None)  # set by safari_auto.tokens
    if read_with_token is not None and set(perms) <= set(GRANTS):
        return any(perm in read_with_token for perm in perms)
    granted = Permission.objects.filter(
        content_type__app_label="safari_auto", codename__in=codenames
    )
    return granted.filter(group__user=user).exists() or granted.filter(user=user).exists()


GRANTS = (READ, OPERATE)


def grants_sql(user_id: str) -> tuple[str, list[str]]:
    """SQL columns, one per role permission (`GRANTS`), true when the user whose id is the
    SQL expression `user_id` holds it through a group or directly, as `has_any` asks it; and
    their parameters. Lets the API token's statement bring the roles along (it is written
    once, not built by the ORM per request: that cost more CPU than the statements saved)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    quote, user_model = connection.ops.quote_name, get_user_model()
    permission = quote(Permission._meta.db_table)
    content_type = quote(ContentType._meta.db_table)
    group_perms = quote(Group.permissions.through._meta.db_table)
    user_groups = quote(user_model.groups.through._meta.db_table)
    user_perms = quote(user_model.user_permissions.through._meta.db_table)
    is_perm = "p.content_type_id = ct.id AND ct.app_label = %s AND p.codename = %s"
    # Every name comes from the models' meta; every value is a parameter.
    via_group = (
        f"EXISTS (SELECT 1 FROM {user_groups} ug, {group_perms} gp, "  # noqa: S608
        f"{permission} p, {content_type} ct WHERE ug.user_id = {user_id} "
        f"AND gp.group_id = ug.group_id AND p.id = gp.permission_id AND {is_perm})"
    )
    direct = (
        f"EXISTS (SELECT 1 FROM {user_perms} up, {permission} p, "  # noqa: S608
        f"{content_type} ct WHERE up.user_id = {user_id} AND p.id = up.permission_id AND {is_perm})"
    )
    columns, params = [], []
    for perm in GRANTS:
        columns.append(f"({via_group} OR {direct})")
        params += [*perm.split(".", 1), *perm.split(".", 1)]
    return ", ".join(columns), params


def can_read(user: Any) -> bool:
    """Viewer or operator (or superuser), and active."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and has_any(user, READ, OPERATE)
    )


def can_operate(user: Any) -> bool:
    """Operator (or superuser), and active."""
    return bool(
        user is not None and user.is_authenticated and user.is_active and has_any(user, OPERATE)
    )
