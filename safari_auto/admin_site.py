"""The admin site: staff flag *and* a role (viewer or operator), or superuser.

Inside, Django's model permissions decide what each page and action allows; the role
groups carry the matching `view_*` / `add_*` / `change_*` / `delete_*` (safari_auto.roles).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from safari_auto.roles import can_read


class RoleAdminSite(admin.AdminSite):
    site_header = "Safari Auto"
    site_title = "Safari Auto admin"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and can_read(user))
