"""What other apps read: a customer's points and tier per program, and list endpoints whose query
count does not grow with their rows."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.loyalty.ledger import balance_update
from campaigns.loyalty.selectors import MemberState, loyalty_member_state
from campaigns.models import LoyaltyTier
from tests.campaigns.loyalty.support import api_join, join, make_program
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_member_state_gives_points_and_tier_per_program(project, django_assert_num_queries):
    rewards = make_program(project, name="Rewards", tiers=[("Bronze", 0, 99), ("Silver", 100, None)])
    club = make_program(project, name="Club")
    customer = CustomerFactory(project=project)
    card = join(project, rewards, customer)
    join(project, club, customer)
    balance_update(project=project, card_id=card.pk, points=150)
    balance_update(project=project, card_id=card.pk, points=-20)

    with django_assert_num_queries(1):
        state = loyalty_member_state(project, customer)

    silver = LoyaltyTier.objects.for_project(project).get(name="Silver")
    assert state == {
        rewards.public_id: MemberState(
            campaign_id=rewards.public_id,
            campaign_name="Rewards",
            card_code=card.voucher.code,
            points=150,
            balance=130,
            tier_id=silver.public_id,
            tier_name="Silver",
            tier_expires_at=None,
        ),
        club.public_id: state[club.public_id],
    }
    assert state[club.public_id].balance == 0 and state[club.public_id].tier_id is None


def test_member_state_of_a_customer_without_cards_is_empty(project, other_project):
    make_program(project)

    assert loyalty_member_state(project, CustomerFactory(project=project)) == {}
    assert loyalty_member_state(other_project, CustomerFactory(project=other_project)) == {}


def _queries(api, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("path", ["/members", "/tiers", "/earning-rules", "/reward-assignments"])
def test_list_endpoints_take_the_same_queries_for_two_rows_or_eight(api, project, path):
    program = make_program(project, tiers=[("Bronze", 0, 9), ("Silver", 10, 19)])
    for index in range(2):
        _grow(api, program, index)
    url = f"/v1/loyalties/{program.public_id}{path}?limit=100"
    few = _queries(api, url)
    for index in range(2, 8):
        _grow(api, program, index)

    assert _queries(api, url) == few


def _grow(api, program, index):
    """One more member (with a bucket), tier, earning rule and reward assignment."""
    code = api_join(api, program, f"member-{index}")["code"]
    api.post(
        f"/v1/loyalties/{program.public_id}/members/{code}/balance",
        {
            "points": 5,
            "expiration_type": "CUSTOM_DATE",
            "expiration_date": date(2099, 1, index + 1).isoformat(),
        },
        format="json",
    )
    api.post(
        f"/v1/loyalties/{program.public_id}/tiers",
        [{"name": f"T{index}", "points": {"from": 100 + index * 10, "to": 109 + index * 10}}],
        format="json",
    )
    api.post(
        f"/v1/loyalties/{program.public_id}/earning-rules",
        [{"event": f"event_{index}", "loyalty": {"type": "FIXED", "points": 1}}],
        format="json",
    )
    other = api.post(
        "/v1/rewards", {"name": f"R{index}", "parameters": {"product": {"id": "p"}}}, format="json"
    ).json()
    api.post(
        f"/v1/rewards/{other['id']}/assignments",
        {"campaign": program.public_id, "parameters": {"loyalty": {"points": 3}}},
        format="json",
    )
