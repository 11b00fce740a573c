"""Rewards: a catalogue of CAMPAIGN / COIN / MATERIAL rewards, offered by programs for points, and
their redemption by members (points taken soonest-expiring first; a CAMPAIGN reward publishes a code)."""

from __future__ import annotations

import pytest

from campaigns.loyalty.ledger import balance_update
from campaigns.models import LoyaltyCard, LoyaltyPointsBucket, Publication, Reward, RewardRedemption
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import api_join, events_of, make_program, nothing_changes

pytestmark = pytest.mark.django_db


def _reward(api, body):
    response = api.post("/v1/rewards", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _assign(api, reward, program, points):
    response = api.post(
        f"/v1/rewards/{reward['id']}/assignments",
        {"campaign": program.public_id, "parameters": {"loyalty": {"points": points}}},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def _member_with_points(api, project, program, points, source_id="ann"):
    code = api_join(api, program, source_id)["code"]
    card = LoyaltyCard.objects.for_project(project).get(voucher__code=code)
    if points:
        balance_update(project=project, card_id=card.pk, points=points)
    return code


def _redeem(api, program, code, reward_id):
    return api.post(
        f"/v1/loyalties/{program.public_id}/members/{code}/redemption",
        {"reward": {"id": reward_id}},
        format="json",
    )


@pytest.fixture
def shop(api, project):
    program = make_program(project, tiers=[("Bronze", 0, 99), ("Silver", 100, None)])
    coupons = make_campaign(project, name="Ten off", codes_count=3)
    voucher_reward = _reward(
        api, {"name": "10% coupon", "parameters": {"campaign": {"id": coupons.public_id}}}
    )
    mug = _reward(api, {"name": "Mug", "parameters": {"product": {"id": "prod_mug"}}, "stock": 1})
    _assign(api, voucher_reward, program, 100)
    _assign(api, mug, program, 30)
    return {"program": program, "coupons": coupons, "voucher_reward": voucher_reward, "mug": mug}


def test_a_campaign_reward_takes_its_points_and_publishes_a_code_to_the_member(api, project, shop):
    program = shop["program"]
    code = _member_with_points(api, project, program, 150)

    response = _redeem(api, program, code, shop["voucher_reward"]["id"])

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "redemption" and body["result"] == "SUCCESS" and body["status"] == "SUCCEEDED"
    assert body["reward"]["type"] == "CAMPAIGN" and body["reward"]["id"] == shop["voucher_reward"]["id"]
    assert body["loyalty_card"] == {"points": 100}
    published = body["reward"]["voucher"]["code"]
    publication = Publication.objects.for_project(project).get(voucher__code=published)
    assert publication.campaign_id == shop["coupons"].pk
    assert publication.customer.source_id == "ann"
    member = api.get(f"/v1/loyalties/members/{code}").json()
    assert member["loyalty_card"]["balance"] == 50
    (completed,) = events_of(project, "customer.reward_redemptions.completed")
    assert completed.refs["reward"] == shop["voucher_reward"]["id"]
    assert completed.refs["reward_voucher"] == body["reward"]["voucher"]["id"]
    assert completed.data["points"] == 100
    # 150 → 50 points: Silver → Bronze.
    assert len(events_of(project, "customer.loyalty.tier.downgraded")) == 1


def test_a_reward_takes_the_soonest_expiring_points(api, project, shop):
    program = shop["program"]
    code = _member_with_points(api, project, program, 0)
    card = LoyaltyCard.objects.for_project(project).get(voucher__code=code)
    from datetime import date

    balance_update(project=project, card_id=card.pk, points=20, expiration_type="NON_EXPIRING")
    balance_update(
        project=project,
        card_id=card.pk,
        points=20,
        expiration_type="CUSTOM_DATE",
        expiration_date=date(2099, 1, 1),
    )

    _redeem(api, program, code, shop["mug"]["id"])

    remaining = dict(
        LoyaltyPointsBucket.objects.for_project(project)
        .filter(card=card)
        .values_list("expires_at", "remaining_points")
    )
    assert remaining == {None: 10, date(2099, 1, 1): 0}


def test_not_enough_points_is_refused_and_nothing_changes(api, project, shop):
    program = shop["program"]
    code = _member_with_points(api, project, program, 99)

    with nothing_changes():
        response = _redeem(api, program, code, shop["voucher_reward"]["id"])

    assert_error(response, 400, "loyalty_card_points_exceeded")


def test_an_unknown_reward_is_a_404_and_nothing_changes(api, project, shop):
    program = shop["program"]
    code = _member_with_points(api, project, program, 500)

    with nothing_changes():
        response = _redeem(api, program, code, "rew_missing")

    assert_error(response, 404, "not_found")


def test_a_reward_the_program_does_not_offer_is_a_404(api, project, shop):
    program = shop["program"]
    code = _member_with_points(api, project, program, 500)
    unoffered = _reward(api, {"name": "Hat", "parameters": {"product": {"id": "prod_hat"}}})

    with nothing_changes():
        response = _redeem(api, program, code, unoffered["id"])

    assert_error(response, 404, "not_found")


def test_a_reward_out_of_stock_is_refused_and_nothing_changes(api, project, shop):
    program = shop["program"]
    first = _member_with_points(api, project, program, 50, "ann")
    second = _member_with_points(api, project, program, 50, "bob")
    assert _redeem(api, program, first, shop["mug"]["id"]).status_code == 200

    with nothing_changes():
        response = _redeem(api, program, second, shop["mug"]["id"])

    assert_error(response, 400, "quantity_exceeded")
    assert Reward.objects.for_project(project).get(public_id=shop["mug"]["id"]).redeemed == 1


def test_a_campaign_reward_without_codes_left_is_refused_and_nothing_changes(api, project, shop):
    program = shop["program"]
    for name in ("x", "y", "z"):
        api.post(
            "/v1/publications",
            {"customer": {"source_id": name}, "campaign": {"name": "Ten off"}},
            format="json",
        )
    code = _member_with_points(api, project, program, 500)

    with nothing_changes():
        response = _redeem(api, program, code, shop["voucher_reward"]["id"])

    assert_error(response, 400, "no_voucher_suitable_for_publication")
    assert not RewardRedemption.objects.for_project(project).exists()


def test_the_reward_catalogue_is_crud(api, project, shop):
    coin = _reward(
        api, {"name": "Coins", "parameters": {"coin": {"exchange_ratio": 0.5}}, "metadata": {"a": 1}}
    )

    listed = api.get("/v1/rewards").json()
    got = api.get(f"/v1/rewards/{coin['id']}").json()
    updated = api.put(f"/v1/rewards/{coin['id']}", {"name": "Coins!", "stock": 5}, format="json").json()
    deleted = api.delete(f"/v1/rewards/{coin['id']}")

    assert coin["type"] == "COIN" and coin["object"] == "reward"
    assert listed["total"] == 3
    assert got["parameters"] == {"coin": {"exchange_ratio": 0.5}}
    assert updated["name"] == "Coins!" and updated["stock"] == 5
    assert deleted.status_code == 204
    assert_error(api.get(f"/v1/rewards/{coin['id']}"), 404, "not_found")


def test_assignments_are_listed_changed_and_removed(api, project, shop):
    program = shop["program"]
    mug = shop["mug"]
    (assignment,) = api.get(f"/v1/rewards/{mug['id']}/assignments").json()["data"]
    url = f"/v1/rewards/{mug['id']}/assignments/{assignment['id']}"

    changed = api.put(url, {"parameters": {"loyalty": {"points": 45}}}, format="json").json()
    by_program = api.get(f"/v1/loyalties/{program.public_id}/reward-assignments").json()
    removed = api.delete(url)

    assert (
        assignment["related_object_id"] == program.public_id
        and assignment["parameters"]["loyalty"]["points"] == 30
    )
    assert changed["parameters"] == {"loyalty": {"points": 45}}
    assert by_program["total"] == 2
    assert removed.status_code == 204
    assert api.get(f"/v1/rewards/{mug['id']}/assignments").json()["total"] == 0


def test_a_reward_is_assigned_once_per_program(api, project, shop):
    with nothing_changes():
        response = api.post(
            f"/v1/rewards/{shop['mug']['id']}/assignments",
            {"campaign": shop["program"].public_id, "parameters": {"loyalty": {"points": 5}}},
            format="json",
        )

    assert_error(response, 409, "duplicate_found")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Two kinds", "parameters": {"coin": {"exchange_ratio": 1}, "product": {"id": "p"}}},
        {"name": "No kind", "parameters": {}},
        {"name": "Bad campaign", "parameters": {"campaign": {"id": "camp_missing"}}},
        {"name": "Stock float", "parameters": {"product": {"id": "p"}}, "stock": 1.0},
        {"parameters": {"product": {"id": "p"}}},
    ],
    ids=["two-kinds", "no-kind", "unknown-campaign", "float-stock", "no-name"],
)
def test_bad_rewards_are_refused_and_nothing_changes(api, project, body):
    with nothing_changes():
        response = api.post("/v1/rewards", body, format="json")

    assert response.status_code in (400, 404)
    assert response.json()["key"] in ("invalid_payload", "not_found")


# Committed for real: PostgreSQL checks the (deferred) foreign keys only at commit.
@pytest.mark.django_db(transaction=True)
def test_deleting_the_program_or_the_reward_campaign_takes_their_loyalty_rows_along(api, project, shop):
    program = shop["program"]
    code = _member_with_points(api, project, program, 150)
    assert _redeem(api, program, code, shop["voucher_reward"]["id"]).status_code == 200

    assert api.delete(f"/v1/campaigns/{shop['coupons'].public_id}").status_code == 202
    assert api.delete(f"/v1/campaigns/{program.public_id}").status_code == 202

    assert not LoyaltyCard.objects.for_project(project).exists()
    assert not RewardRedemption.objects.for_project(project).exists()
    assert list(Reward.objects.for_project(project).values_list("name", flat=True)) == ["Mug"]


def test_another_projects_campaign_cannot_be_used_for_rewards_or_assignments(
    api, project, other_project, shop
):
    theirs = make_program(other_project, name="Theirs")
    their_coupons = make_campaign(other_project, name="Their coupons", codes_count=2)

    with nothing_changes():
        assigned = api.post(
            f"/v1/rewards/{shop['mug']['id']}/assignments",
            {"campaign": theirs.public_id, "parameters": {"loyalty": {"points": 5}}},
            format="json",
        )
        created = api.post(
            "/v1/rewards",
            {"name": "Theirs", "parameters": {"campaign": {"id": their_coupons.public_id}}},
            format="json",
        )
        joined = api.post(
            f"/v1/loyalties/{theirs.public_id}/members", {"customer": {"source_id": "x"}}, format="json"
        )

    assert_error(assigned, 404, "not_found")
    assert_error(created, 404, "not_found")
    assert_error(joined, 404, "not_found")
