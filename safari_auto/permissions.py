"""Who may call what: the roles (safari_auto.roles) as DRF permission classes and Django
view decorators, so the API, the dashboard, the video files and the socket agree.

- `DeclareARole` is the project-wide default: a view that declares no role answers 403 to
  everyone, superusers included, so a forgotten declaration is found at once.
- `ViewerReadsOperatorWrites` is what views declare: safe methods need the viewer role,
  the others the operator role.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

from safari_auto.roles import can_operate, can_read


class DeclareARole(BasePermission):
    """The default: refuse everyone, because the view did not say which role it needs."""

    message = "This route declares no role; nobody may call it."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return False


class ViewerReadsOperatorWrites(BasePermission):
    """GET/HEAD/OPTIONS: viewer (or operator); anything else: operator."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            self.message = "Reading needs the viewer or operator role."
            return can_read(request.user)
        self.message = "This action needs the operator role."
        return can_operate(request.user)


View = Callable[..., HttpResponse]


def role_required(check: Callable[[Any], bool]) -> Callable[[View], View]:
    """For Django views: anonymous visitors go to the login page, a logged-in user without
    the role gets 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied("Your login has no role for this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


viewer_required = role_required(can_read)
operator_required = role_required(can_operate)
