"""`GET/PUT /v1/customers/{id}/consents`, and the consents section of the dashboard's customer page."""

from __future__ import annotations

import pytest

from messaging.consent import CONSENT_CHANNELS
from messaging.models import CustomerConsent
from tests.api.support import assert_error
from tests.dashboard.conftest import signed_in
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_customer_without_choices_is_subscribed_everywhere(project, api):
    customer = CustomerFactory(project=project, source_id="ada")
    response = api.get("/v1/customers/ada/consents")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "customer_consents" and body["customer_id"] == customer.public_id
    assert set(body["consents"]) == set(CONSENT_CHANNELS)
    assert body["consents"]["email"] == {"state": "subscribed", "source": None, "changed_at": None}


def test_put_sets_the_channels_named_and_leaves_the_others(project, api):
    customer = CustomerFactory(project=project)
    response = api.put(
        f"/v1/customers/{customer.public_id}/consents",
        {"consents": {"email": "unsubscribed", "sms": "subscribed"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    consents = response.json()["consents"]
    assert consents["email"]["state"] == "unsubscribed" and consents["email"]["source"] == "api"
    assert consents["email"]["changed_at"]
    # Setting the state a channel already has records nothing.
    assert consents["sms"] == {"state": "subscribed", "source": None, "changed_at": None}
    assert list(CustomerConsent.objects.for_project(project).values_list("channel", "state")) == [
        ("email", "unsubscribed")
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"consents": {"fax": "unsubscribed"}},
        {"consents": {"email": "maybe"}},
        {"consents": {"email": True}},
        {"consents": ["email"]},
        {"consents": {"email": "unsubscribed"}, "extra": 1},
        {},
    ],
)
def test_bad_input_is_refused_and_changes_nothing(project, api, body):
    customer = CustomerFactory(project=project)
    response = api.put(f"/v1/customers/{customer.public_id}/consents", body, format="json")
    assert_error(response, 400, "invalid_payload")
    assert not CustomerConsent.objects.for_project(project).exists()


def test_an_unknown_customer_is_404(project, api):
    assert_error(api.get("/v1/customers/nobody/consents"), 404, "not_found")


def test_the_customer_page_shows_the_consents(project, owner):
    customer = CustomerFactory(project=project)
    CustomerConsent.objects.create(
        project=project, customer=customer, channel="sms", state="unsubscribed", source="api"
    )
    response = signed_in(owner).get(f"/customers/{customer.public_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="customer-consents"' in html
    sms_row = html.split('data-channel="sms"')[1].split("</tr>")[0]
    assert "unsubscribed" in sms_row and "api" in sms_row
