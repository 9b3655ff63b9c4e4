"""The roles' own permissions, on a model without a table.

Django permissions hang off a content type, so the two role permissions live on `Access`,
which stores nothing (unmanaged, no table). They are `safari_auto.read` (the viewer role:
queue, history, status, resources, CRM reads, videos) and `safari_auto.operate` (the operator
role: every control and write). Both the full deployment and the CRM-only one install
`safari_auto`, so the same names work in each.
"""

from django.db import models


class Access(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("read", "Can read the queue, history, resources, CRM and videos (viewer)"),
            ("operate", "Can control the scheduler, tasks, accounts, CRM and Sora (operator)"),
        ]
        verbose_name = "access"

    def __str__(self) -> str:
        return "access"
