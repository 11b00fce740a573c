"""Parameter resolution: each kind resolves inside the project only, and says what is wrong."""

from __future__ import annotations

import pytest

from campaigns.models import LoyaltyTier, PromotionTier
from campaigns.validation_rules.services import validation_rule_create
from distributions import catalogue
from distributions.catalogue import ParameterKind
from distributions.parameters import ParameterInvalid, ResolvedParameter, resolve_parameter
from segments.services import segment_create
from tests.campaigns.factories import make_campaign
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

REFERRAL_CAMPAIGN = catalogue.trigger("customer_referred").parameter("campaign")
CODE_CAMPAIGN = catalogue.action("publish_codes").parameter("campaign")


def test_a_campaign_resolves_by_id_or_name_to_its_public_id(project):
    campaign = make_campaign(project, name="Friends", campaign_type="REFERRAL_PROGRAM")

    by_name = resolve_parameter(project, REFERRAL_CAMPAIGN, "Friends")
    by_id = resolve_parameter(project, REFERRAL_CAMPAIGN, campaign.public_id)

    assert by_name == by_id == ResolvedParameter(campaign, campaign.public_id)


def test_another_projects_campaign_is_as_missing_as_a_nonexistent_one(project, other_project):
    theirs = make_campaign(other_project, name="Friends", campaign_type="REFERRAL_PROGRAM")

    with pytest.raises(ParameterInvalid, match=f"^cannot find campaign with id {theirs.public_id}$"):
        resolve_parameter(project, REFERRAL_CAMPAIGN, theirs.public_id)
    with pytest.raises(ParameterInvalid, match="^cannot find campaign with id Friends$"):
        resolve_parameter(project, REFERRAL_CAMPAIGN, "Friends")


def test_a_campaign_of_the_wrong_type_is_refused_naming_what_is_expected(project):
    campaign = make_campaign(project, name="Deals", campaign_type="PROMOTION")

    with pytest.raises(ParameterInvalid) as refused:
        resolve_parameter(project, CODE_CAMPAIGN, "Deals")

    assert str(refused.value) == (
        f"campaign {campaign.public_id} is a PROMOTION campaign; expected "
        "DISCOUNT_COUPONS or GIFT_VOUCHERS or LOYALTY_PROGRAM or REFERRAL_PROGRAM"
    )


@pytest.mark.parametrize("value", [None, "", 5, {"id": "camp_1"}])
def test_a_campaign_value_must_be_an_id(project, value):
    with pytest.raises(ParameterInvalid, match="^must be the id of a campaign$"):
        resolve_parameter(project, CODE_CAMPAIGN, value)


def test_a_customer_resolves_by_id_or_source_id_inside_the_project(project, other_project):
    ada = CustomerFactory(project=project, source_id="ada")
    CustomerFactory(project=other_project, source_id="bob")
    parameter = catalogue.Parameter("customer", ParameterKind.CUSTOMER, "Customer")

    assert resolve_parameter(project, parameter, "ada").public_id == ada.public_id
    with pytest.raises(ParameterInvalid, match="^cannot find customer with id bob$"):
        resolve_parameter(project, parameter, "bob")


def test_a_promotion_tier_resolves_inside_the_project_only(project, other_project):
    ours = make_campaign(project, name="Deals", campaign_type="PROMOTION")
    theirs = make_campaign(other_project, name="Deals", campaign_type="PROMOTION")
    our_tier = PromotionTier.objects.for_project(project).get(campaign=ours)
    their_tier = PromotionTier.objects.for_project(other_project).get(campaign=theirs)
    parameter = catalogue.Parameter("tier", ParameterKind.PROMOTION_TIER, "Promotion tier")

    assert resolve_parameter(project, parameter, our_tier.public_id) == ResolvedParameter(
        our_tier, our_tier.public_id
    )
    with pytest.raises(
        ParameterInvalid, match=f"^cannot find promotion tier with id {their_tier.public_id}$"
    ):
        resolve_parameter(project, parameter, their_tier.public_id)


def test_a_validation_rule_resolves_inside_the_project_only(project, other_project):
    rules = {"1": {"name": "order.amount", "conditions": {"$more_than": [9900]}}, "logic": "1"}
    ours = validation_rule_create(project=project, fields={"name": "Big", "rules": rules})
    theirs = validation_rule_create(project=other_project, fields={"name": "Big", "rules": rules})
    parameter = catalogue.Parameter("rule", ParameterKind.VALIDATION_RULE, "Validation rule")

    assert resolve_parameter(project, parameter, ours.public_id).value == ours
    with pytest.raises(ParameterInvalid, match=f"^cannot find validation rule with id {theirs.public_id}$"):
        resolve_parameter(project, parameter, theirs.public_id)


def test_a_loyalty_tier_resolves_inside_the_project_only(project, other_project):
    ours = LoyaltyTier.objects.create(
        project=project,
        public_id="ltr_ours",
        campaign=make_campaign(project, campaign_type="LOYALTY_PROGRAM"),
        name="Gold",
        points_from=1000,
    )
    theirs = LoyaltyTier.objects.create(
        project=other_project,
        public_id="ltr_theirs",
        campaign=make_campaign(other_project, campaign_type="LOYALTY_PROGRAM"),
        name="Gold",
        points_from=1000,
    )
    parameter = catalogue.Parameter("tier", ParameterKind.LOYALTY_TIER, "Loyalty tier")

    assert resolve_parameter(project, parameter, "ltr_ours").value == ours
    with pytest.raises(ParameterInvalid, match=f"^cannot find loyalty tier with id {theirs.public_id}$"):
        resolve_parameter(project, parameter, theirs.public_id)


def test_a_segment_resolves_inside_the_project_only(project, other_project):
    ours = segment_create(project=project, name="VIP", type="static")
    theirs = segment_create(project=other_project, name="VIP", type="static")
    parameter = catalogue.Parameter("segment", ParameterKind.SEGMENT, "Segment")

    assert resolve_parameter(project, parameter, ours.public_id).value == ours
    with pytest.raises(ParameterInvalid, match=f"^cannot find segment with id {theirs.public_id}$"):
        resolve_parameter(project, parameter, theirs.public_id)
