"""Operators read provider accounts (never their secrets) and suppressions in the admin."""

import pytest
from django.test import Client

from messaging.models import ChannelSuppression
from tests.factories import CustomerFactory, UserFactory
from tests.support.providers import SMS_CREDENTIALS, provider_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory(username="operator@example.com", is_staff=True, is_superuser=True))
    return client


def test_a_providers_secrets_are_not_shown_to_operators(local_project, receiver, operator):
    provider = provider_at(local_project, receiver, "sms", SMS_CREDENTIALS)

    listing = operator.get("/admin/messaging/channelprovider/")
    detail = operator.get(f"/admin/messaging/channelprovider/{provider.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    for secret in (SMS_CREDENTIALS["auth_token"], provider.settings["auth_token"]):
        assert secret.encode() not in detail.content


def test_suppressions_are_listed(local_project, operator):
    ChannelSuppression.objects.create(
        project=local_project,
        customer=CustomerFactory(project=local_project),
        channel="sms",
        reason="opted_out",
    )

    response = operator.get("/admin/messaging/channelsuppression/")

    assert response.status_code == 200
    assert b"opted_out" in response.content
