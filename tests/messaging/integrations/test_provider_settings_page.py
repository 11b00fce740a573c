"""The dashboard page for delivery providers: owners and admins only, a connection test at save,
secrets never rendered back, each project seeing only its own providers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from messaging.models import ChannelProvider
from tests.support.messaging import rows_unchanged
from tests.support.providers import SMS_CREDENTIALS, base_url, provider_at

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(receiver, **overrides):
    data = {f"sms-{name}": value for name, value in SMS_CREDENTIALS.items()}
    return {"sms-base_url": base_url(receiver), "sms-is_active": "on", **data, **overrides}


def test_an_owner_saves_an_sms_provider_after_its_connection_test(local_project, owner, receiver):
    response = signed_in(owner).post(reverse("dashboard:provider_save", args=["sms"]), form_data(receiver))

    assert response.status_code == 302
    provider = ChannelProvider.objects.for_project(local_project).get(kind="sms")
    assert provider.base_url == base_url(receiver)
    assert receiver.requests[0].path == "/2010-04-01/Accounts/AC0123456789abcdef.json"


def test_refused_credentials_show_on_the_form_and_save_nothing(local_project, owner, receiver):
    receiver.always(401)

    with rows_unchanged(ChannelProvider.objects.for_project(local_project)):
        response = signed_in(owner).post(
            reverse("dashboard:provider_save", args=["sms"]), form_data(receiver)
        )

    assert response.status_code == 400
    assert "The provider refused these credentials" in response.content.decode()


def test_the_page_never_shows_a_saved_secret(local_project, owner, receiver):
    provider_at(local_project, receiver, "sms", SMS_CREDENTIALS)

    page = signed_in(owner).get(reverse("dashboard:provider_settings")).content.decode()

    assert SMS_CREDENTIALS["account_sid"] in page
    assert SMS_CREDENTIALS["auth_token"] not in page
    assert ChannelProvider.objects.for_project(local_project).get().settings["auth_token"] not in page


def test_marketers_and_viewers_may_not_see_or_change_providers(local_project, marketer, viewer, receiver):
    for user in (marketer, viewer):
        client = signed_in(user)
        assert client.get(reverse("dashboard:provider_settings")).status_code == 403
        assert (
            client.post(reverse("dashboard:provider_save", args=["sms"]), form_data(receiver)).status_code
            == 403
        )
    assert not ChannelProvider.objects.for_project(local_project).exists()


def test_an_outsider_sees_and_changes_only_their_own_project(
    local_project, other_project, outsider, receiver
):
    provider_at(local_project, receiver, "sms", SMS_CREDENTIALS)

    client = signed_in(outsider)
    page = client.get(reverse("dashboard:provider_settings")).content.decode()
    client.post(reverse("dashboard:provider_save", args=["sms"]), form_data(receiver))

    assert SMS_CREDENTIALS["account_sid"] not in page
    [ours] = ChannelProvider.objects.for_project(local_project)
    assert ours.base_url == base_url(
        receiver
    )  # the outsider's post went to their own project (private URL refused)
