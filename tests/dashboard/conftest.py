"""Dashboard fixtures: a signed-in client per person, and a snapshot of everything a write could change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from customers.models import Customer
from eventbus.models import DomainEvent
from tenancy.models import ApiKey, Membership, Project
from tests.factories import CustomerFactory, make_api_key


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Acme:
    """Our project's standing rows: a customer, an API key, and the marketer's membership."""

    project: Project
    customer: Customer
    api_key: ApiKey
    marketer_membership: Membership


@pytest.fixture
def acme(project, owner, marketer) -> Acme:
    customer = CustomerFactory(
        project=project, name="Ada Lovelace", email="ada@example.com", metadata={"tier": "gold", "visits": 3}
    )
    api_key, _ = make_api_key(project, name="Shop backend")
    return Acme(
        project=project,
        customer=customer,
        api_key=api_key,
        marketer_membership=project.memberships.get(user=marketer),
    )


def project_state(project: Project) -> dict[str, Any]:
    """Every row a dashboard write could touch, for "nothing changed" assertions."""
    return {
        "project": Project.objects.filter(pk=project.pk).values().get(),
        "api_keys": list(project.api_keys.order_by("pk").values()),
        "memberships": list(project.memberships.order_by("pk").values()),
        "customers": list(Customer.objects.for_project(project).order_by("pk").values()),
        "events": list(
            DomainEvent.objects.for_project(project).order_by("pk").values_list("public_id", flat=True)
        ),
        "users": list(get_user_model().objects.order_by("pk").values_list("username", flat=True)),
    }
