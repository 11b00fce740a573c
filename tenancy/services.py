"""Writes to projects, memberships and API keys."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from tenancy.models import ApiKey, Membership, Project, Role


@transaction.atomic
def project_create(*, name: str, owner: AbstractBaseUser, slug: str | None = None, **settings) -> Project:
    base = slug or slugify(name)[:50] or "project"
    candidate, suffix = base, 1
    while Project.objects.filter(slug=candidate).exists():
        suffix += 1
        candidate = f"{base}-{suffix}"
    project = Project.objects.create(name=name, slug=candidate, **settings)
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    return project


def api_key_create(*, project: Project, name: str) -> tuple[ApiKey, str]:
    """A new key and its token. The token is returned once and never stored in the clear."""
    api_key, token = ApiKey.generate(project=project, name=name)
    api_key.save()
    return api_key, token


def api_key_revoke(*, project: Project, api_key: ApiKey) -> ApiKey:
    ApiKey.objects.filter(project=project, pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    api_key.refresh_from_db()
    return api_key


def user_get_or_create(*, email: str, password: str | None = None) -> tuple[AbstractBaseUser, bool]:
    User = get_user_model()
    user = User.objects.filter(username=email).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(username=email, email=email, password=password)
    return user, True


class LastOwnerError(Exception):
    pass


@transaction.atomic
def membership_set_role(*, project: Project, membership: Membership, role: str) -> Membership:
    locked = Membership.objects.select_for_update().get(project=project, pk=membership.pk)
    if locked.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.filter(project=project, role=Role.OWNER).count()
        if owners <= 1:
            raise LastOwnerError("A project needs at least one owner.")
    locked.role = role
    locked.save(update_fields=["role"])
    return locked


@transaction.atomic
def membership_add(*, project: Project, email: str, role: str) -> Membership:
    user, _ = user_get_or_create(email=email)
    membership, _ = Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    return membership


@transaction.atomic
def membership_remove(*, project: Project, membership: Membership) -> None:
    locked = Membership.objects.select_for_update().get(project=project, pk=membership.pk)
    if locked.role == Role.OWNER and Membership.objects.filter(project=project, role=Role.OWNER).count() <= 1:
        raise LastOwnerError("A project needs at least one owner.")
    locked.delete()
