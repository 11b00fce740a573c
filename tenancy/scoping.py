"""Tenant scoping by construction.

Every tenant-owned model uses `ProjectScopedManager` and is read through `Model.objects.for_project(p)`.
The escape hatch for operator code (migrations, admin, sweeps across all tenants) is named
`unscoped()` so that it stands out in review; `tests/test_tenant_scoping.py` fails when a view, API
view or task reads tenant data without one of the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from tenancy.models import Project


class ProjectScopedQuerySet(models.QuerySet):
    def for_project(self, project: Project) -> ProjectScopedQuerySet:
        if project is None or project.pk is None:
            raise ValueError("A tenant query needs a saved project.")
        return self.filter(project=project)


class ProjectScopedManager(models.Manager.from_queryset(ProjectScopedQuerySet)):  # type: ignore[misc]
    def unscoped(self) -> ProjectScopedQuerySet:
        """All tenants' rows: for operator code and cross-tenant sweeps only."""
        return self.get_queryset()


class TenantModel(models.Model):
    """Base for every tenant-owned row: a non-null project and a scoped manager."""

    # No single-column index: every index of a tenant table starts with project_id already (a
    # meta-test holds every model to that), so one more would only slow bulk writes down.
    project = models.ForeignKey("tenancy.Project", on_delete=models.CASCADE, related_name="+", db_index=False)

    objects: Any = ProjectScopedManager()

    class Meta:
        abstract = True
