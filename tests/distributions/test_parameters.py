"""Parameter resolution: each kind resolves inside the project only, and says what is wrong."""

from __future__ import annotations

import pytest

from distributions import catalogue, parameters
from distributions.catalogue import ParameterKind
from distributions.parameters import ParameterInvalid, ResolvedParameter, resolve_parameter
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


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (ParameterKind.SEGMENT, "Segments"),
        (ParameterKind.PROMOTION_TIER, "Promotion tiers"),
        (ParameterKind.VALIDATION_RULE, "Validation rules"),
        (ParameterKind.LOYALTY_TIER, "Loyalty tiers"),
    ],
)
def test_kinds_built_alongside_refuse_until_wired(project, kind, what):
    parameter = catalogue.Parameter("x", kind, "X")

    with pytest.raises(ParameterInvalid, match=f"^{what} are not available yet in this version$"):
        resolve_parameter(project, parameter, "anything")


def test_a_registered_resolver_replaces_the_placeholder(project, monkeypatch):
    # What the merge does for segments: register the real lookup for the kind.
    monkeypatch.setitem(
        parameters._RESOLVERS, ParameterKind.SEGMENT, lambda project, value: ResolvedParameter(value, "seg_1")
    )

    resolved = resolve_parameter(project, catalogue.trigger("segment_left").parameter("segment"), "VIPs")

    assert resolved.public_id == "seg_1"
