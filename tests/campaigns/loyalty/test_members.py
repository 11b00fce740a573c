"""Members: one loyalty card per customer and program, published to them, with its points right."""

from __future__ import annotations

import pytest

from campaigns.models import LoyaltyCard, Publication, Voucher
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import api_join, events_of, make_program, nothing_changes
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_joining_publishes_a_card_of_the_program_to_the_customer(api, project):
    program = make_program(project)

    response = api.post(
        f"/v1/loyalties/{program.public_id}/members", {"customer": {"source_id": "ann"}}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "LOYALTY_CARD"
    assert body["campaign_id"] == program.public_id
    assert body["code"].startswith("LC-")
    assert body["loyalty_card"]["points"] == 0
    assert body["loyalty_card"]["balance"] == 0
    card = LoyaltyCard.objects.for_project(project).get()
    assert card.voucher.code == body["code"]
    assert body["holder_id"] == card.customer.public_id == body["holder"]["id"]
    publication = Publication.objects.for_project(project).get()
    assert publication.voucher_id == card.voucher_id and publication.customer_id == card.customer_id
    assert len(events_of(project, "customer.publication.succeeded")) == 1


def test_joining_twice_returns_the_same_card(api, project):
    program = make_program(project)
    url, body = f"/v1/loyalties/{program.name}/members", {"customer": {"source_id": "ann"}}
    first = api.post(url, body, format="json")

    second = api.post(url, body, format="json")

    assert second.status_code == 200
    assert second.json()["code"] == first.json()["code"]
    assert LoyaltyCard.objects.for_project(project).count() == 1
    assert Voucher.objects.for_project(project).count() == 1
    assert len(events_of(project, "customer.publication.succeeded")) == 1


def test_a_program_with_generated_cards_hands_those_out_first(api, project):
    program = make_program(project)
    from campaigns import codes

    codes.generate_codes(campaign=program, count=2)
    generated = set(Voucher.objects.for_project(project).values_list("code", flat=True))

    code = api.post(f"/v1/loyalties/{program.name}/members", {"customer": {"source_id": "a"}}, format="json")

    assert code.json()["code"] in generated


def test_a_card_starts_with_the_programs_initial_points(api, project):
    program = make_program(project, points=50, tiers=[("Bronze", 0, 99)])

    body = api_join(api, program, "a")

    assert body["loyalty_card"]["points"] == 50
    assert body["loyalty_card"]["balance"] == 50
    assert len(events_of(project, "customer.loyalty.tier.joined")) == 1


def test_members_are_got_by_card_code_with_and_without_the_campaign(api, project):
    program = make_program(project)
    code = api_join(api, program, "a")["code"]

    with_campaign = api.get(f"/v1/loyalties/{program.public_id}/members/{code}")
    without = api.get(f"/v1/loyalties/members/{code}")

    assert with_campaign.status_code == without.status_code == 200
    assert with_campaign.json()["code"] == without.json()["code"] == code


def test_members_are_listed_under_vouchers(api, project):
    program = make_program(project)
    for name in ("a", "b", "c"):
        api.post(f"/v1/loyalties/{program.name}/members", {"customer": {"source_id": name}}, format="json")

    body = api.get(f"/v1/loyalties/{program.public_id}/members?limit=2").json()
    only_b = api.get(f"/v1/loyalties/{program.public_id}/members?customer=b").json()

    assert body["object"] == "list" and body["data_ref"] == "vouchers"
    assert body["total"] == 3 and len(body["vouchers"]) == 2
    assert only_b["total"] == 1
    assert only_b["vouchers"][0]["holder"]["source_id"] == "b"


def test_joining_a_campaign_that_is_not_a_loyalty_program_is_refused(api, project):
    make_campaign(project, name="Coupons", codes_count=2)

    with nothing_changes():
        response = api.post("/v1/loyalties/Coupons/members", {"customer": {"source_id": "a"}}, format="json")

    assert_error(response, 400, "invalid_campaign_params")


def test_joining_an_unknown_program_is_a_404(api, project):
    with nothing_changes():
        response = api.post("/v1/loyalties/camp_nope/members", {"customer": {"source_id": "a"}}, "json")

    assert_error(response, 404, "not_found")


def test_a_member_of_another_program_is_not_found_under_this_one(api, project):
    first, second = make_program(project, name="One"), make_program(project, name="Two")
    code = api_join(api, first, "a")["code"]

    assert_error(api.get(f"/v1/loyalties/{second.public_id}/members/{code}"), 404, "not_found")
    assert api.get(f"/v1/loyalties/{first.public_id}/members/{code}").status_code == 200


def test_a_disabled_program_takes_no_new_members(api, project):
    from campaigns.services import campaign_set_active

    campaign_set_active(project=project, campaign=make_program(project, name="Off"), active=False)

    with nothing_changes():
        response = api.post("/v1/loyalties/Off/members", {"customer": {"source_id": "a"}}, format="json")

    assert_error(response, 400, "campaign_disabled")


def test_leaving_the_program_leaves_the_tier_once(project):
    from campaigns.loyalty.members import member_add, member_leave

    program = make_program(project, points=10, tiers=[("Bronze", 0, 100)])
    card, _ = member_add(project=project, campaign=program, customer=CustomerFactory(project=project))

    member_leave(project=project, card=card)

    assert len(events_of(project, "customer.loyalty.tier.left")) == 1
    assert not LoyaltyCard.objects.for_project(project).exists()
    assert Voucher.objects.for_project(project).get(pk=card.voucher_id).active is False


def test_a_card_published_without_joining_makes_its_holder_a_member_when_used(api, project):
    program = make_program(project, points=5, tiers=[("Bronze", 0, None)])
    published = api.post(
        "/v1/publications",
        {"customer": {"source_id": "bob"}, "campaign": {"name": program.name}},
        format="json",
    )
    code = published.json()["voucher"]["code"]
    assert not LoyaltyCard.objects.for_project(project).exists()

    response = api.post(
        f"/v1/loyalties/{program.public_id}/members/{code}/balance", {"points": 10}, format="json"
    )
    again = api_join(api, program, "bob")

    assert response.status_code == 200 and response.json()["balance"] == 15
    card = LoyaltyCard.objects.for_project(project).select_related("customer").get()
    assert card.customer.source_id == "bob" and again["code"] == code
    assert len(events_of(project, "customer.loyalty.tier.joined")) == 1


def test_earning_rules_find_a_card_published_by_a_distribution(project):
    from campaigns.loyalty.earning import apply_earning_rules, earning_rules_create
    from campaigns.publications import publish_codes
    from eventbus.cause import Cause
    from eventbus.services import publish

    program = make_program(project)
    from campaigns import codes

    codes.generate_codes(campaign=program, count=1)
    customer = CustomerFactory(project=project)
    publish_codes(
        project=project,
        campaign=program,
        customer_ids=[customer.pk],
        cause_key="manual:dist_1",
        distribution_id=1,
        cause=Cause.distribution("dist_1"),
    )
    earning_rules_create(
        project=project,
        campaign=program,
        items=[{"event": "visit", "loyalty": {"type": "FIXED", "points": 4}}],
    )
    event = publish(project, "customer.custom_event", customer=customer, data={"event": "visit"})

    assert apply_earning_rules(event) == 1
    card = LoyaltyCard.objects.for_project(project).select_related("voucher").get(customer=customer)
    assert card.voucher.loyalty_balance == 4
