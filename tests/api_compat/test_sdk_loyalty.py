"""The official `voucherify` SDK (6.1.1) driving loyalty programs on a live server: members, balance,
tiers, points expiration, earning rules, rewards and reward redemption, every response parsed into
the SDK's typed models (StrictInt points, `balance >= 0`, enum `type` LOYALTY_CARD, date fields)."""

from __future__ import annotations

import pytest
import voucherify
from voucherify.exceptions import BadRequestException, NotFoundException
from voucherify.models import (
    CampaignLoyaltyCard,
    CampaignLoyaltyCardExpirationRules,
    CampaignsCreateRequestBody,
    CampaignsCreateRequestBodyVoucher,
    CodeConfig,
    Customer,
    LoyaltiesEarningRulesCreateRequestBodyItem,
    LoyaltiesEarningRulesCreateRequestBodyItemCustomEvent,
    LoyaltiesEarningRulesCreateRequestBodyItemLoyalty,
    LoyaltiesMembersBalanceUpdateRequestBody,
    LoyaltiesMembersCreateRequestBody,
    LoyaltiesMembersRedemptionRedeemRequestBody,
    LoyaltiesTiersCreateInBulkRequestBodyItem,
    RewardsAssignmentsCreateRequestBody,
    RewardsCreateRequestBody,
)

from tests.campaigns.factories import make_campaign
from tests.factories import ProjectFactory, make_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def sdk_project(db):
    return ProjectFactory(slug="sdk-loyalty")


@pytest.fixture
def client(live_server, sdk_project) -> voucherify.ApiClient:
    api_key, token = make_api_key(sdk_project)
    configuration = voucherify.Configuration(
        host=live_server.url, api_key={"X-App-Id": api_key.app_id, "X-App-Token": token}
    )
    return voucherify.ApiClient(configuration)


@pytest.fixture
def loyalties(client) -> voucherify.LoyaltiesApi:
    return voucherify.LoyaltiesApi(client)


@pytest.fixture
def rewards(client) -> voucherify.RewardsApi:
    return voucherify.RewardsApi(client)


@pytest.fixture
def program(client) -> str:
    # Built with constructors: `from_dict` would send every optional field as null.
    body = CampaignsCreateRequestBody(
        name="SDK Rewards",
        campaign_type="LOYALTY_PROGRAM",
        type="AUTO_UPDATE",
        voucher=CampaignsCreateRequestBodyVoucher(
            type="LOYALTY_CARD",
            loyalty_card=CampaignLoyaltyCard(
                points=0,
                expiration_rules=CampaignLoyaltyCardExpirationRules(
                    period_type="MONTH", period_value=6, rounding_type="END_OF_YEAR"
                ),
            ),
            code_config=CodeConfig(pattern="SDK-LC-######"),
        ),
    )
    campaign = voucherify.CampaignsApi(client).create_campaign(body)
    assert campaign.campaign_type == "LOYALTY_PROGRAM"
    return campaign.id


def _join(loyalties, program, source_id="sdk-ann") -> str:
    member = loyalties.add_member(
        program, LoyaltiesMembersCreateRequestBody(customer=Customer(source_id=source_id, name="Ann"))
    )
    return member.code


def test_members_are_added_got_and_listed(loyalties, program):
    member = loyalties.add_member(
        program, LoyaltiesMembersCreateRequestBody(customer=Customer(source_id="sdk-ann", name="Ann"))
    )
    again = loyalties.add_member(
        program, LoyaltiesMembersCreateRequestBody(customer=Customer(source_id="sdk-ann"))
    )

    assert member.type == "LOYALTY_CARD" and member.code.startswith("SDK-LC-")
    assert again.code == member.code
    assert member.loyalty_card.points == 0 and member.loyalty_card.balance == 0
    got = loyalties.get_member1(program, member.code)
    got_without_campaign = loyalties.get_member(member.code)
    assert got.code == got_without_campaign.code == member.code
    assert got.holder_id == member.holder_id
    listed = loyalties.list_members(program, limit=10)
    assert listed.total == 1 and listed.vouchers[0].code == member.code


def test_the_balance_moves_and_stays_parseable(loyalties, program):
    code = _join(loyalties, program)

    added = loyalties.update_loyalty_card_balance1(
        program, code, LoyaltiesMembersBalanceUpdateRequestBody(points=300, reason="welcome")
    )
    removed = loyalties.update_loyalty_card_balance(
        code, LoyaltiesMembersBalanceUpdateRequestBody(points=-120)
    )

    assert (added.points, added.total, added.balance) == (300, 300, 300)
    assert added.type == "loyalty_card" and added.object == "balance" and added.operation_type == "MANUAL"
    assert (removed.points, removed.balance) == (-120, 180)
    member = loyalties.get_member(code)
    assert member.loyalty_card.balance == 180 and member.loyalty_card.points == 300
    assert member.loyalty_card.next_expiration_date is not None
    transactions = loyalties.list_loyalty_card_transactions1(program, code)
    assert [t.type for t in transactions.data] == ["POINTS_REMOVAL", "POINTS_ADDITION"]
    assert transactions.data[0].details.balance.balance == 180
    expiration = loyalties.list_points_expiration(program, code)
    assert expiration.total == 1 and expiration.data[0].bucket.total_points == 180
    assert expiration.data[0].expires_at == member.loyalty_card.next_expiration_date


def test_going_below_zero_raises_bad_request(loyalties, program):
    code = _join(loyalties, program)

    with pytest.raises(BadRequestException) as refused:
        loyalties.update_loyalty_card_balance1(
            program, code, LoyaltiesMembersBalanceUpdateRequestBody(points=-1)
        )

    assert refused.value.status == 400 and "loyalty_card_points_exceeded" in refused.value.body


def test_tiers_are_created_listed_and_the_members_tier_read(loyalties, program):
    code = _join(loyalties, program)

    created = loyalties.create_in_bulk_loyalty_tiers(
        program,
        [
            LoyaltiesTiersCreateInBulkRequestBodyItem.from_dict(
                {"name": "Bronze", "points": {"from": 0, "to": 99}}
            ),
            LoyaltiesTiersCreateInBulkRequestBodyItem.from_dict({"name": "Gold", "points": {"from": 100}}),
        ],
    )
    loyalties.update_loyalty_card_balance1(
        program, code, LoyaltiesMembersBalanceUpdateRequestBody(points=150)
    )

    assert [tier.name for tier in created] == ["Bronze", "Gold"]
    assert created[0].points.var_from == 0 and created[0].points.to == 99
    listed = loyalties.list_loyalty_tiers(program)
    assert listed.data_ref == "data" and listed.total == 2
    gold = loyalties.get_loyalty_tier(program, created[1].id)
    assert gold.name == "Gold" and gold.object == "loyalty_tier"
    member_tiers = loyalties.list_member_loyalty_tier(code)
    assert [tier.name for tier in member_tiers.data] == ["Gold"]
    with pytest.raises(NotFoundException):
        loyalties.get_loyalty_tier(program, "ltr_missing")


def test_earning_rules_are_created_and_listed(loyalties, program):
    # `from_dict` sends every optional field as null; the constructor leaves them out. Both work.
    created = loyalties.create_earning_rule(
        program,
        [
            LoyaltiesEarningRulesCreateRequestBodyItem.from_dict(
                {"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 10}}
            ),
            LoyaltiesEarningRulesCreateRequestBodyItem(
                event="review_written",
                custom_event=LoyaltiesEarningRulesCreateRequestBodyItemCustomEvent(schema_id="ms_review"),
                loyalty=LoyaltiesEarningRulesCreateRequestBodyItemLoyalty(type="FIXED", points=3),
            ),
        ],
    )

    assert [rule.object for rule in created] == ["earning_rule", "earning_rule"]
    assert created[0].loyalty.points == 10 and created[1].custom_event.schema_id == "ms_review"
    listed = loyalties.list_earning_rules(program)
    assert listed.total == 2 and {rule.id for rule in listed.data} == {rule.id for rule in created}
    got = loyalties.get_earning_rule(program, created[0].id)
    assert got.id == created[0].id


def test_a_reward_is_created_assigned_and_redeemed(client, loyalties, rewards, program, sdk_project):
    coupons = make_campaign(sdk_project, name="SDK coupons", codes_count=2)
    code = _join(loyalties, program)
    loyalties.update_loyalty_card_balance1(
        program, code, LoyaltiesMembersBalanceUpdateRequestBody(points=500)
    )

    reward = rewards.create_reward(
        RewardsCreateRequestBody.from_dict(
            {"name": "Coupon", "parameters": {"campaign": {"id": coupons.public_id}}}
        )
    )
    assignment = rewards.create_reward_assignment(
        reward.id,
        RewardsAssignmentsCreateRequestBody.from_dict(
            {"campaign": program, "parameters": {"loyalty": {"points": 200}}}
        ),
    )
    redemption = loyalties.redeem_reward1(
        program, code, LoyaltiesMembersRedemptionRedeemRequestBody.from_dict({"reward": {"id": reward.id}})
    )

    assert reward.type == "CAMPAIGN" and reward.object == "reward"
    assert assignment.related_object_id == program and assignment.object == "reward_assignment"
    assert redemption.object == "redemption" and redemption.result == "SUCCESS"
    assert redemption.reward.id == reward.id and redemption.reward.type == "CAMPAIGN"
    assert redemption.reward.voucher.campaign_id == coupons.public_id
    assert redemption.loyalty_card.points == 200
    assert loyalties.get_member(code).loyalty_card.balance == 300
    assert rewards.list_rewards().total == 1
    with pytest.raises(BadRequestException) as refused:
        loyalties.redeem_reward1(
            program,
            code,
            LoyaltiesMembersRedemptionRedeemRequestBody.from_dict({"reward": {"id": reward.id}}),
        )
        loyalties.redeem_reward1(
            program,
            code,
            LoyaltiesMembersRedemptionRedeemRequestBody.from_dict({"reward": {"id": reward.id}}),
        )
    assert "loyalty_card_points_exceeded" in refused.value.body or "no_voucher" in refused.value.body
