"""Tenancy by construction: rules that every present and future tenant-owned model must follow."""

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.db.models import F, UniqueConstraint

from tenancy.scoping import TenantModel

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "tenancy",
    "customers",
    "eventbus",
    "campaigns",
    "segments",
    "distributions",
    "messaging",
    "webhooks_out",
]
TENANT_MODELS = [model for model in apps.get_models() if issubclass(model, TenantModel)]
# Request-facing and background entry points: where a forgotten tenant filter would leak data.
ENTRY_POINT_FILES = sorted(
    path
    for app in APPS
    for pattern in ("views.py", "api/*.py", "tasks.py", "selectors.py")
    for path in (ROOT / app).glob(pattern)
)


def test_there_are_tenant_models_to_check():
    assert {"Customer", "DomainEvent", "HandlerRun", "BulkImport"} <= {m.__name__ for m in TENANT_MODELS}


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
def test_tenant_model_has_a_required_project(model):
    field = model._meta.get_field("project")
    assert field.null is False
    assert field.related_model._meta.label == "tenancy.Project"


def _leading_field(index_or_constraint) -> str | None:
    if getattr(index_or_constraint, "fields", None):
        return index_or_constraint.fields[0]
    first = index_or_constraint.expressions[0]
    return first.name if isinstance(first, F) else getattr(first, "name", None)


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
def test_every_index_of_a_tenant_model_starts_with_the_project(model):
    indexes = [*model._meta.indexes, *(c for c in model._meta.constraints if isinstance(c, UniqueConstraint))]
    offenders = [i.name for i in indexes if _leading_field(i) not in ("project", "project_id")]
    assert offenders == []


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
def test_every_tenant_model_has_an_index_starting_with_the_project(model):
    # The project foreign key has no index of its own (TenantModel): a tenant query or a project's
    # cascade delete relies on one of these.
    indexes = [*model._meta.indexes, *(c for c in model._meta.constraints if isinstance(c, UniqueConstraint))]
    assert any(_leading_field(i) in ("project", "project_id") for i in indexes)


def _unscoped_reads(path: Path, root: Path = ROOT) -> list[str]:
    """`Model.objects.<x>` for a tenant model where `<x>` is neither `for_project` nor `unscoped`."""
    names = {model.__name__ for model in TENANT_MODELS}
    findings = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "objects"
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id in names
            and node.attr not in ("for_project", "unscoped")
        ):
            findings.append(
                f"{path.relative_to(root)}:{node.lineno} {node.value.value.id}.objects.{node.attr}"
            )
    return findings


def test_views_api_views_tasks_and_selectors_read_tenant_data_only_through_the_project_scope():
    assert ENTRY_POINT_FILES, "no entry-point files found: the scan would prove nothing"
    findings = [finding for path in ENTRY_POINT_FILES for finding in _unscoped_reads(path)]
    assert findings == []


def test_the_scan_catches_an_unscoped_read_and_accepts_scoped_ones(tmp_path):
    sample = tmp_path / "views.py"
    sample.write_text(
        "def leaky(request):\n    return Customer.objects.filter(pk=1)\n"
        "def scoped(request):\n    return Customer.objects.for_project(request.project).filter(pk=1)\n"
    )
    assert _unscoped_reads(sample, root=tmp_path) == ["views.py:2 Customer.objects.filter"]


def test_for_project_refuses_an_unsaved_project():
    from customers.models import Customer
    from tenancy.models import Project

    with pytest.raises(ValueError, match="saved project"):
        Customer.objects.for_project(Project(name="unsaved"))
