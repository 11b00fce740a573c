"""The filter fields kept by the campaigns app, operator by operator, against hand-built customers.

ada  2 redemptions (1 succeeded, 1 failed), 1 more succeeded and rolled back (its rollback row
     too), one of them 1,500 cents off a gift card she holds with 3,500 left; a member of
     "Club" with 1,200 points in tier Gold, and of "Other Club" with 50 points
bob  1 succeeded redemption inside a stacked parent (the parent is not counted); a member of
     "Club" with 0 points and no tier (below every tier)
cyd  no redemptions, no cards
"""

from __future__ import annotations

import pytest

from campaigns.models import LoyaltyCard, LoyaltyTier, Redemption, Voucher
from campaigns.publications import publication_create
from segments.filters import FilterError, compile_filter
from tenancy.ids import new_public_id
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import join, make_program
from tests.segments.support import NOW, make_customer, matching

pytestmark = pytest.mark.django_db

ALL = {"ada", "bob", "cyd"}


def redemption(project, customer, **fields) -> Redemption:
    fields.setdefault("object", Redemption.Object.REDEMPTION)
    fields.setdefault("related_object_type", "voucher")
    fields.setdefault("result", Redemption.Result.SUCCESS)
    fields.setdefault("status", Redemption.Status.SUCCEEDED)
    return Redemption.objects.create(
        project=project, public_id=new_public_id("r", 24), customer=customer, **fields
    )


def with_points(project, card: LoyaltyCard, points: int, tier: LoyaltyTier | None = None) -> None:
    Voucher.objects.for_project(project).filter(pk=card.voucher_id).update(
        loyalty_points=points, loyalty_balance=points
    )
    LoyaltyCard.objects.for_project(project).filter(pk=card.pk).update(tier=tier)


@pytest.fixture
def people(project, other_project):
    ada = make_customer(project, "ada")
    bob = make_customer(project, "bob")
    make_customer(project, "cyd")

    gift_campaign = make_campaign(project, name="Gift cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    gift_card = Voucher.objects.for_project(project).get(campaign=gift_campaign)
    publication_create(project=project, customer=ada, voucher=gift_card)
    Voucher.objects.for_project(project).filter(pk=gift_card.pk).update(gift_balance=3500)
    redemption(project, ada, voucher=gift_card, amount=1500)
    redemption(project, ada, result=Redemption.Result.FAILURE, status=Redemption.Status.FAILED)
    undone = redemption(project, ada, status=Redemption.Status.ROLLED_BACK)
    redemption(project, ada, object=Redemption.Object.ROLLBACK, rollback_of=undone)
    parent = redemption(project, bob, related_object_type="redemption")
    redemption(project, bob, parent=parent)

    club = make_program(project, name="Club", tiers=[("Silver", 100, 999), ("Gold", 1000, None)])
    gold = LoyaltyTier.objects.for_project(project).get(campaign=club, name="Gold")
    with_points(project, join(project, club, ada), 1200, gold)
    with_points(project, join(project, club, bob), 0)
    other = make_program(project, name="Other Club")
    with_points(project, join(project, other, ada), 50)

    # Another project's program of the same name, and its member: never matched.
    elsewhere = make_program(other_project, name="Club")
    twin = make_customer(other_project, "ada-elsewhere")
    with_points(other_project, join(other_project, elsewhere, twin), 5000)
    redemption(other_project, twin)
    return {"club": club, "gold": gold, "silver": LoyaltyTier.objects.for_project(project).get(name="Silver")}


def only(field: str, operator: str, value) -> dict:
    return {field: {"conditions": {operator: value}}}


REDEMPTION_CASES = [
    ("total_redeemed", "$is", [3], {"ada"}),
    ("total_redeemed", "$more_than", [0], {"ada", "bob"}),
    ("total_redeemed", "$is", [0], {"cyd"}),
    ("total_redeemed", "$less_than", [2], {"bob", "cyd"}),
    ("total_redeemed", "$count_more", [2], {"ada"}),
    ("total_succeeded", "$is", [1], {"bob"}),
    ("total_succeeded", "$more_than_equal", [2], {"ada"}),
    ("total_failed", "$more_than", [0], {"ada"}),
    ("total_rolled_back", "$is", [1], {"ada"}),
    ("total_rollback_succeeded", "$is", [1], {"ada"}),
    ("total_rollback_failed", "$is", [0], ALL),
    ("gift.redeemed_amount", "$more_than_equal", [1500], {"ada"}),
    ("gift.redeemed_amount", "$is", [0], {"bob", "cyd"}),
    ("gift.amount_to_go", "$is", [3500], {"ada"}),
    ("gift.amount_to_go", "$less_than", [100], {"bob", "cyd"}),
]


@pytest.mark.parametrize(
    ("metric", "operator", "value", "expected"),
    REDEMPTION_CASES,
    ids=[f"{metric} {operator} {value}" for metric, operator, value, _ in REDEMPTION_CASES],
)
def test_redemption_summaries(people, project, metric, operator, value, expected):
    assert matching(project, only(f"summary.redemptions.{metric}", operator, value)) == expected


POINTS_CASES = [
    ("$more_than", [1000], {"ada"}),
    ("$more_than_equal", [0], {"ada", "bob"}),  # cyd is no member: no balance to compare
    ("$less_than", [100], {"bob"}),
    ("$is", [0], {"bob"}),
    ("$is_not", [0], {"ada", "cyd"}),
    ("$in", [0, 1200], {"ada", "bob"}),
    ("$not_in", [1200], {"bob", "cyd"}),
    ("$less_than_equal", [1200], {"ada", "bob"}),
    ("$has_value", [], {"ada", "bob"}),  # a member
    ("$is_unknown", [], {"cyd"}),
]


@pytest.mark.parametrize(
    ("operator", "value", "expected"), POINTS_CASES, ids=[f"{o} {v}" for o, v, _ in POINTS_CASES]
)
def test_loyalty_points_of_a_program_named_by_name(people, project, operator, value, expected):
    assert matching(project, only("loyalty_points.campaigns.Club.points", operator, value)) == expected


def test_a_program_is_named_by_its_name_or_its_id_and_each_has_its_own_balance(people, project):
    by_id = f"loyalty_points.campaigns.{people['club'].public_id}.points"

    assert matching(project, only(by_id, "$more_than", [1000])) == {"ada"}
    assert matching(project, only("loyalty_points.campaigns.Other Club.points", "$is", [50])) == {"ada"}
    assert matching(project, only("loyalty_points.campaigns.Nobody.points", "$is_unknown", [])) == ALL


def test_loyalty_tiers_by_tier_id(people, project):
    gold, silver = people["gold"].public_id, people["silver"].public_id
    field = "loyalty_tier.campaigns.Club.tier"

    assert matching(project, only(field, "$is", [gold])) == {"ada"}
    assert matching(project, only(field, "$in", [silver, gold])) == {"ada"}
    assert matching(project, only(field, "$is_not", [gold])) == {"bob", "cyd"}
    assert matching(project, only(field, "$not_in", [silver])) == ALL
    assert matching(project, only(field, "$has_value", [])) == {"ada"}
    assert matching(project, only(field, "$is_unknown", [])) == {"bob", "cyd"}
    assert matching(
        project, only(f"loyalty_tier.campaigns.{people['club'].public_id}.tier", "$is", gold)
    ) == {"ada"}


def test_campaign_fields_combine_with_the_others_in_one_query(people, project, django_assert_num_queries):
    filter = {
        "junction": "or",
        "summary.redemptions.total_failed": {"conditions": {"$more_than": [0]}},
        "groups": [
            {
                "loyalty_points.campaigns.Club.points": {"conditions": {"$less_than": [100]}},
                "loyalty_tier.campaigns.Club.tier": {"conditions": {"$is_unknown": []}},
            }
        ],
    }

    with django_assert_num_queries(1):
        assert matching(project, filter) == {"ada", "bob"}
    assert not compile_filter(filter, now=NOW).is_time_dependent


BAD = [
    (
        only("summary.redemptions.total_bought", "$is", [1]),
        "summary.redemptions.total_bought",
        None,
        "one of",
    ),
    (
        only("summary.redemptions.total_redeemed", "$starts_with", ["1"]),
        "summary.redemptions.total_redeemed",
        "$starts_with",
        "operator",
    ),
    (
        only("loyalty_points.campaigns.Club.points", "$contains", ["1"]),
        "loyalty_points.campaigns.Club.points",
        "$contains",
        "operator",
    ),
    (
        only("loyalty_points.campaigns.Club.points", "$more_than", ["many"]),
        "loyalty_points.campaigns.Club.points",
        "$more_than",
        "number",
    ),
    (
        only("loyalty_tier.campaigns.Club.tier", "$starts_with", ["ltr_"]),
        "loyalty_tier.campaigns.Club.tier",
        "$starts_with",
        "operator",
    ),
    (
        only("loyalty_tier.campaigns.Club.tier", "$in", []),
        "loyalty_tier.campaigns.Club.tier",
        "$in",
        "at least",
    ),
    (
        only(f"loyalty_points.campaigns.{'x' * 256}.points", "$is", [1]),
        f"loyalty_points.campaigns.{'x' * 256}.points",
        None,
        "1 to 255",
    ),
]


@pytest.mark.parametrize(("filter", "field", "operator", "message"), BAD, ids=[str(f)[:60] for f, *_ in BAD])
def test_invalid_campaign_field_conditions_are_refused_naming_field_and_operator(
    filter, field, operator, message
):
    with pytest.raises(FilterError) as refused:
        compile_filter(filter, now=NOW)

    assert (refused.value.field, refused.value.operator) == (field, operator)
    assert message in str(refused.value)
