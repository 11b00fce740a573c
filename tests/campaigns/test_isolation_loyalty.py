"""Another project's loyalty programs, members, tiers, earning rules and rewards do not exist for an
outsider: 404 and nothing changes; lists never show them."""

from __future__ import annotations

import pytest

from campaigns.loyalty.ledger import balance_update
from campaigns.models import EarningRule, LoyaltyCard, LoyaltyTier, Reward, RewardAssignment
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import api_join, make_program, nothing_changes

pytestmark = pytest.mark.django_db

ISOLATION_ROUTES = [
    ("GET", "/v1/loyalties/members/LC-1"),
    ("POST", "/v1/loyalties/members/LC-1/balance"),
    ("GET", "/v1/loyalties/members/LC-1/tiers"),
    ("POST", "/v1/loyalties/members/LC-1/redemption"),
    ("GET", "/v1/loyalties/camp_1/members"),
    ("POST", "/v1/loyalties/camp_1/members"),
    ("GET", "/v1/loyalties/camp_1/members/LC-1"),
    ("POST", "/v1/loyalties/camp_1/members/LC-1/balance"),
    ("GET", "/v1/loyalties/camp_1/members/LC-1/points-expiration"),
    ("GET", "/v1/loyalties/camp_1/members/LC-1/transactions"),
    ("GET", "/v1/loyalties/members/LC-1/transactions"),
    ("POST", "/v1/loyalties/camp_1/members/LC-1/redemption"),
    ("GET", "/v1/loyalties/camp_1/tiers"),
    ("POST", "/v1/loyalties/camp_1/tiers"),
    ("GET", "/v1/loyalties/camp_1/tiers/ltr_1"),
    ("GET", "/v1/loyalties/camp_1/earning-rules"),
    ("POST", "/v1/loyalties/camp_1/earning-rules"),
    ("GET", "/v1/loyalties/camp_1/earning-rules/ern_1"),
    ("PUT", "/v1/loyalties/camp_1/earning-rules/ern_1"),
    ("DELETE", "/v1/loyalties/camp_1/earning-rules/ern_1"),
    ("POST", "/v1/loyalties/camp_1/earning-rules/ern_1/enable"),
    ("POST", "/v1/loyalties/camp_1/earning-rules/ern_1/disable"),
    ("GET", "/v1/loyalties/camp_1/rewards"),
    ("POST", "/v1/loyalties/camp_1/rewards"),
    ("GET", "/v1/loyalties/camp_1/reward-assignments"),
    ("POST", "/v1/loyalties/camp_1/reward-assignments"),
    ("GET", "/v1/rewards"),
    ("POST", "/v1/rewards"),
    ("GET", "/v1/rewards/rew_1"),
    ("PUT", "/v1/rewards/rew_1"),
    ("DELETE", "/v1/rewards/rew_1"),
    ("GET", "/v1/rewards/rew_1/assignments"),
    ("POST", "/v1/rewards/rew_1/assignments"),
    ("GET", "/v1/rewards/rew_1/assignments/rewa_1"),
    ("PUT", "/v1/rewards/rew_1/assignments/rewa_1"),
    ("DELETE", "/v1/rewards/rew_1/assignments/rewa_1"),
]


@pytest.fixture
def ours(api, project):
    program = make_program(project, tiers=[("Bronze", 0, None)])
    coupons = make_campaign(project, name="Coupons", codes_count=3)
    code = api_join(api, program, "ann")["code"]
    card = LoyaltyCard.objects.for_project(project).get(voucher__code=code)
    balance_update(project=project, card_id=card.pk, points=500)
    reward_id = api.post(
        "/v1/rewards",
        {"name": "Coupon", "parameters": {"campaign": {"id": coupons.public_id}}},
        format="json",
    ).json()["id"]
    api.post(
        f"/v1/rewards/{reward_id}/assignments",
        {"campaign": program.public_id, "parameters": {"loyalty": {"points": 10}}},
        format="json",
    )
    api.post(
        f"/v1/loyalties/{program.public_id}/earning-rules",
        [{"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 5}}],
        format="json",
    )
    return {
        "campaign": program.public_id,
        "name": program.name,
        "code": code,
        "tier": LoyaltyTier.objects.for_project(project).get().public_id,
        "rule": EarningRule.objects.for_project(project).get().public_id,
        "reward": reward_id,
        "assignment": RewardAssignment.objects.for_project(project).get().public_id,
        "coupons": coupons.public_id,
    }


ASSIGN = {"parameters": {"loyalty": {"points": 1}}}
ENDPOINTS = [
    ("get", "/v1/loyalties/members/{code}", None),
    ("post", "/v1/loyalties/members/{code}/balance", {"points": 10}),
    ("post", "/v1/loyalties/members/{code}/balance", {"points": -10}),
    ("get", "/v1/loyalties/members/{code}/tiers", None),
    ("post", "/v1/loyalties/members/{code}/redemption", {"reward": {"id": "{reward}"}}),
    ("get", "/v1/loyalties/{campaign}/members", None),
    ("get", "/v1/loyalties/{name}/members", None),
    ("post", "/v1/loyalties/{campaign}/members", {"customer": {"source_id": "ann"}}),
    ("get", "/v1/loyalties/{campaign}/members/{code}", None),
    ("post", "/v1/loyalties/{campaign}/members/{code}/balance", {"points": 10}),
    ("get", "/v1/loyalties/{campaign}/members/{code}/points-expiration", None),
    ("get", "/v1/loyalties/{campaign}/members/{code}/transactions", None),
    ("get", "/v1/loyalties/members/{code}/transactions", None),
    ("post", "/v1/loyalties/{campaign}/members/{code}/redemption", {"reward": {"id": "{reward}"}}),
    ("get", "/v1/loyalties/{campaign}/tiers", None),
    ("post", "/v1/loyalties/{campaign}/tiers", [{"name": "Mine", "points": {"from": 0}}]),
    ("get", "/v1/loyalties/{campaign}/tiers/{tier}", None),
    ("get", "/v1/loyalties/{campaign}/earning-rules", None),
    (
        "post",
        "/v1/loyalties/{campaign}/earning-rules",
        [{"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 1}}],
    ),
    ("get", "/v1/loyalties/{campaign}/earning-rules/{rule}", None),
    ("put", "/v1/loyalties/{campaign}/earning-rules/{rule}", {"active": False}),
    ("delete", "/v1/loyalties/{campaign}/earning-rules/{rule}", None),
    ("post", "/v1/loyalties/{campaign}/earning-rules/{rule}/enable", None),
    ("post", "/v1/loyalties/{campaign}/earning-rules/{rule}/disable", None),
    ("get", "/v1/loyalties/{campaign}/rewards", None),
    ("post", "/v1/loyalties/{campaign}/rewards", [{"reward": "{reward}", **ASSIGN}]),
    ("get", "/v1/loyalties/{campaign}/reward-assignments", None),
    ("post", "/v1/loyalties/{campaign}/reward-assignments", [{"reward": "{reward}", **ASSIGN}]),
    ("post", "/v1/rewards", {"name": "Stolen", "parameters": {"campaign": {"id": "{coupons}"}}}),
    ("get", "/v1/rewards/{reward}", None),
    ("put", "/v1/rewards/{reward}", {"name": "Mine now"}),
    ("delete", "/v1/rewards/{reward}", None),
    ("get", "/v1/rewards/{reward}/assignments", None),
    ("post", "/v1/rewards/{reward}/assignments", {"campaign": "{campaign}", **ASSIGN}),
    ("get", "/v1/rewards/{reward}/assignments/{assignment}", None),
    ("put", "/v1/rewards/{reward}/assignments/{assignment}", ASSIGN),
    ("delete", "/v1/rewards/{reward}/assignments/{assignment}", None),
]


def _fill(value, ours):
    if isinstance(value, str):
        return value.format(**ours)
    if isinstance(value, dict):
        return {key: _fill(inner, ours) for key, inner in value.items()}
    if isinstance(value, list):
        return [_fill(inner, ours) for inner in value]
    return value


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_an_outsider_gets_404_for_our_loyalty_objects_and_changes_nothing(
    outsider_api, ours, method, path, body
):
    with nothing_changes():
        response = getattr(outsider_api, method)(_fill(path, ours), _fill(body, ours), format="json")

    assert_error(response, 404, "not_found")


def test_an_outsiders_own_program_cannot_take_our_reward(outsider_api, other_project, ours):
    theirs = make_program(other_project, name="Theirs")

    with nothing_changes():
        response = outsider_api.post(
            f"/v1/rewards/{ours['reward']}/assignments",
            {"campaign": theirs.public_id, **ASSIGN},
            format="json",
        )

    assert_error(response, 404, "not_found")


def test_an_outsider_lists_none_of_our_rewards(outsider_api, ours):
    body = outsider_api.get("/v1/rewards").json()

    assert body["total"] == 0 and body["data"] == []
    assert Reward.objects.unscoped().filter(public_id=ours["reward"]).exists()
