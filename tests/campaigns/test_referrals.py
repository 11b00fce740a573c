"""Referral programs: a referee converting with a referrer's code is recorded once per program and
publishes `customer.referred` once; the referrer cannot redeem their own code."""

from __future__ import annotations

import pytest
from voucherify.models import CustomerReferralsCampaignsItem

from campaigns.customer_summaries import customer_summaries
from campaigns.models import Referral
from customers.models import Customer
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import only_a_failed_redemption, redeem

pytestmark = pytest.mark.django_db

REFERRED = "customer.referred"


def _program(project, api, conversion=None, event_name=None):
    referral_program = {"conversion_event_type": conversion} if conversion else None
    if event_name:
        referral_program["custom_event"] = {"name": event_name}
    campaign = make_campaign(
        project,
        name="Refer a friend",
        campaign_type="REFERRAL_PROGRAM",
        codes_count=3,
        **({"referral_program": referral_program} if referral_program else {}),
    )
    code = api.post(
        "/v1/publications",
        {"customer": {"source_id": "alice"}, "campaign": {"name": "Refer a friend"}},
        format="json",
    ).json()["voucher"]["code"]
    return campaign, code


def _customer(project, source_id):
    return Customer.objects.for_project(project).get(source_id=source_id)


def test_a_referee_redeeming_the_code_is_referred_once(api, project):
    campaign, code = _program(project, api)

    response = redeem(api, code, customer={"source_id": "bob"}, order={"amount": 3000})

    assert response.status_code == 200, response.content
    redemption_id = response.json()["redemptions"][0]["id"]
    alice, bob = _customer(project, "alice"), _customer(project, "bob")
    referral = Referral.objects.for_project(project).get()
    assert (referral.campaign_id, referral.code, referral.referrer_id, referral.referee_id) == (
        campaign.pk,
        code,
        alice.pk,
        bob.pk,
    )
    assert (referral.related_object_type, referral.related_object_id) == ("redemption", redemption_id)
    (event,) = DomainEvent.objects.for_project(project).filter(type=REFERRED)
    assert event.customer_id == bob.pk
    assert event.refs == {
        "campaign": campaign.public_id,
        "voucher": response.json()["redemptions"][0]["voucher"]["id"],
    }
    assert event.data["referrer_id"] == alice.public_id

    # Coming back converts nothing more; another friend is a second referral.
    assert redeem(api, code, customer={"source_id": "bob"}).status_code == 200
    assert redeem(api, code, customer={"source_id": "carol"}).status_code == 200
    assert Referral.objects.for_project(project).count() == 2
    assert DomainEvent.objects.for_project(project).filter(type=REFERRED).count() == 2


def test_the_referrer_redeeming_their_own_code_is_refused_and_changes_nothing(api, project):
    _, code = _program(project, api)

    with only_a_failed_redemption() as outcome:
        response = redeem(api, code, customer={"source_id": "alice"}, order={"amount": 3000})

    assert_error(response, 400, "referrer_not_permitted_to_redeem")
    assert outcome["failed"]["customer_id"] == _customer(project, "alice").pk


def test_a_referral_code_needs_the_customer(api, project):
    _, code = _program(project, api)

    with only_a_failed_redemption():
        assert_error(redeem(api, code), 400, "missing_customer")


def test_a_custom_event_naming_the_code_converts_the_referee(api, project):
    campaign, code = _program(project, api, conversion="custom_event", event_name="signed_up")
    body = {"event": "signed_up", "customer": {"source_id": "bob"}, "referral": {"code": code}}

    response = api.post("/v1/events", body, format="json")
    again = api.post("/v1/events", body, format="json")

    assert response.status_code == again.status_code == 200, response.content
    referral = Referral.objects.for_project(project).get()
    assert (referral.referrer_id, referral.referee_id) == (
        _customer(project, "alice").pk,
        _customer(project, "bob").pk,
    )
    assert referral.related_object_type == "custom_event"
    assert referral.related_object_id.startswith("evcus_")
    assert DomainEvent.objects.for_project(project).filter(type=REFERRED).count() == 1


def test_a_custom_event_of_another_name_or_a_redemption_does_not_convert_a_custom_event_program(api, project):
    _, code = _program(project, api, conversion="custom_event", event_name="signed_up")

    api.post(
        "/v1/events",
        {"event": "browsed", "customer": {"source_id": "bob"}, "referral": {"code": code}},
        format="json",
    )
    assert redeem(api, code, customer={"source_id": "carol"}).status_code == 200

    assert not Referral.objects.for_project(project).exists()
    assert not DomainEvent.objects.for_project(project).filter(type=REFERRED).exists()


def test_a_custom_event_with_an_unknown_code_is_tracked_without_a_referral(api, project):
    _program(project, api)

    response = api.post(
        "/v1/events",
        {"event": "signed_up", "customer": {"source_id": "bob"}, "referral": {"code": "NOPE"}},
        format="json",
    )

    assert response.status_code == 200
    assert not Referral.objects.for_project(project).exists()


def test_a_custom_event_by_the_referrer_converts_nobody(api, project):
    _, code = _program(project, api)

    api.post(
        "/v1/events",
        {"event": "signed_up", "customer": {"source_id": "alice"}, "referral": {"code": code}},
        format="json",
    )

    assert not Referral.objects.for_project(project).exists()


def test_the_referrals_summary_has_voucherifys_shape(api, project):
    campaign, code = _program(project, api)
    redemption_id = redeem(api, code, customer={"source_id": "bob"}).json()["redemptions"][0]["id"]
    alice, bob = _customer(project, "alice"), _customer(project, "bob")

    summary = customer_summaries(project=project, customer_ids=[alice.pk, bob.pk])

    assert summary[alice.pk]["referred_customers"] == 1
    assert summary[alice.pk]["referrals"] == {"total": 0, "campaigns": []}
    (item,) = summary[bob.pk]["referrals"]["campaigns"]
    assert summary[bob.pk]["referrals"]["total"] == 1
    parsed = CustomerReferralsCampaignsItem.from_dict(item)
    assert (parsed.campaign_id, parsed.referrer_id, parsed.related_object_id) == (
        campaign.public_id,
        alice.public_id,
        redemption_id,
    )
