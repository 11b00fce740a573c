"""The official `voucherify` SDK (6.1.1) redeeming, reading, listing and rolling back redemptions,
moving a gift card's balance, and updating, enabling, disabling and deleting codes, on a live server.

Each call returns the SDK's typed model: its validators (StrictInt amounts, status / result /
object enums, lower-case balance type) are the compatibility check.
"""

from __future__ import annotations

import pytest
import voucherify
from voucherify.exceptions import BadRequestException, NotFoundException
from voucherify.models import (
    CampaignsCreateRequestBody,
    CampaignsCreateRequestBodyPromotion,
    CampaignsCreateRequestBodyVoucher,
    CreatePublicationCampaign,
    Customer,
    Discount,
    Order,
    PublicationsCreateRequestBody,
    RedemptionsGetResponseBody,
    RedemptionsListResponseBody,
    RedemptionsRedeemRequestBody,
    RedemptionsRedeemRequestBodyRedeemablesItem,
    RedemptionsRedeemRequestBodyRedeemablesItemGift,
    RedemptionsRedeemResponseBody,
    RedemptionsRollbackCreateRequestBody,
    RedemptionsRollbackCreateResponseBody,
    ValidationRulesCreateRequestBody,
    VouchersBalanceUpdateRequestBody,
    VouchersBalanceUpdateResponseBody,
    VouchersRedemptionGetResponseBody,
    VouchersUpdateRequestBody,
)

from campaigns.models import Voucher
from eventbus.models import DomainEvent
from tests.campaigns.factories import make_campaign
from tests.factories import ProjectFactory, make_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def project(db):
    return ProjectFactory(slug="sdk-redemptions")


@pytest.fixture
def client(live_server, project) -> voucherify.ApiClient:
    api_key, token = make_api_key(project)
    configuration = voucherify.Configuration(
        host=live_server.url, api_key={"X-App-Id": api_key.app_id, "X-App-Token": token}
    )
    return voucherify.ApiClient(configuration)


@pytest.fixture
def redemptions(client) -> voucherify.RedemptionsApi:
    return voucherify.RedemptionsApi(client)


@pytest.fixture
def vouchers(client) -> voucherify.VouchersApi:
    return voucherify.VouchersApi(client)


@pytest.fixture
def codes(project) -> list[str]:
    make_campaign(project, name="SDK welcome", codes_count=3)
    return list(Voucher.objects.for_project(project).order_by("sequence").values_list("code", flat=True))


@pytest.fixture
def card(project) -> str:
    make_campaign(project, name="SDK cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    return Voucher.objects.for_project(project).get(campaign__name="SDK cards").code


def _redeem(redemptions, *codes_, credits=None, amount=20000, customer="sdk-alice"):
    gift = RedemptionsRedeemRequestBodyRedeemablesItemGift(credits=credits) if credits else None
    return redemptions.redeem_stacked_discounts(
        RedemptionsRedeemRequestBody(
            redeemables=[
                RedemptionsRedeemRequestBodyRedeemablesItem(object="voucher", id=c, gift=gift) for c in codes_
            ],
            customer=Customer(source_id=customer, email=f"{customer}@example.com"),
            order=Order(source_id=f"order-{customer}-{codes_[0]}", amount=amount, status="PAID"),
            metadata={"channel": "sdk"},
        )
    )


def test_redeem_get_list_and_roll_back(redemptions, codes):
    redeemed = _redeem(redemptions, codes[0])

    assert isinstance(redeemed, RedemptionsRedeemResponseBody)
    (redemption,) = redeemed.redemptions
    assert (redemption.result, redemption.status, redemption.object) == ("SUCCESS", "SUCCEEDED", "redemption")
    assert redemption.voucher.code == codes[0]
    assert redemption.voucher.redemption.redeemed_quantity == 1
    assert redemption.customer.source_id == "sdk-alice"
    assert redeemed.order.amount == 20000 and redeemed.order.discount_amount == 2000

    fetched = redemptions.get_redemption(redemption.id)
    assert isinstance(fetched, RedemptionsGetResponseBody)
    assert (fetched.id, fetched.status, fetched.voucher.code) == (redemption.id, "SUCCEEDED", codes[0])

    listed = redemptions.list_redemptions(limit=10, customer="sdk-alice", result="SUCCESS")
    assert isinstance(listed, RedemptionsListResponseBody)
    assert [item.id for item in listed.redemptions] == [redemption.id]
    assert listed.total == 1

    rollback = redemptions.rollback_redemption(
        redemption.id,
        reason="returned",
        redemptions_rollback_create_request_body=RedemptionsRollbackCreateRequestBody(
            metadata={"ticket": "7"}
        ),
    )
    assert isinstance(rollback, RedemptionsRollbackCreateResponseBody)
    assert (rollback.object, rollback.status, rollback.redemption, rollback.reason) == (
        "redemption_rollback",
        "SUCCEEDED",
        redemption.id,
        "returned",
    )
    assert redemptions.get_redemption(redemption.id).status == "ROLLED_BACK"
    assert redemptions.get_redemption(rollback.id).object == "redemption_rollback"
    with pytest.raises(BadRequestException) as refused:
        redemptions.rollback_redemption(redemption.id)
    assert '"already_rolled_back"' in refused.value.body
    listed_all = redemptions.list_redemptions()
    assert {item.object for item in listed_all.redemptions} == {"redemption", "redemption_rollback"}


def test_stacked_redemption_and_a_codes_redemptions(redemptions, codes):
    redeemed = _redeem(redemptions, codes[1], codes[2])

    assert redeemed.parent_redemption.related_object_type == "redemption"
    assert [r.redemption for r in redeemed.redemptions] == [redeemed.parent_redemption.id] * 2
    entries = redemptions.get_voucher_redemptions(codes[1])
    assert isinstance(entries, VouchersRedemptionGetResponseBody)
    assert (entries.redeemed_quantity, entries.total) == (1, 1)
    assert entries.redemption_entries[0].id == redeemed.redemptions[0].id


def test_refusals_are_voucherify_errors(redemptions, vouchers, codes):
    vouchers.disable_voucher(codes[0])

    with pytest.raises(BadRequestException) as disabled:
        _redeem(redemptions, codes[0])
    with pytest.raises(NotFoundException):
        _redeem(redemptions, "NO-SUCH-CODE")

    assert '"voucher_disabled"' in disabled.value.body
    failures = redemptions.list_redemptions(result="FAILURE")
    assert {item.failure_code for item in failures.redemptions} == {"voucher_disabled", "resource_not_found"}


def test_gift_card_balance_and_credits(redemptions, vouchers, card):
    added = vouchers.update_voucher_balance(
        card, VouchersBalanceUpdateRequestBody(amount=1500, reason="top-up")
    )

    assert isinstance(added, VouchersBalanceUpdateResponseBody)
    assert (added.amount, added.total, added.balance, added.type, added.object) == (
        1500,
        2500,
        2500,
        "gift_voucher",
        "balance",
    )
    removed = vouchers.update_voucher_balance(card, VouchersBalanceUpdateRequestBody(amount=-500))
    assert removed.balance == 2000
    redeemed = _redeem(redemptions, card, credits=700, customer="sdk-bob")
    assert redeemed.redemptions[0].amount == 700
    assert redeemed.redemptions[0].gift.amount == 700
    assert vouchers.get_voucher(card).gift.balance == 1300
    with pytest.raises(BadRequestException) as refused:
        vouchers.update_voucher_balance(card, VouchersBalanceUpdateRequestBody(amount=-5000))
    assert '"gift_amount_exceeded"' in refused.value.body


def test_voucher_update_enable_disable_delete(vouchers, codes):
    updated = vouchers.update_voucher(
        codes[0],
        VouchersUpdateRequestBody(
            metadata={"shelf": "B"},
            additional_info="VIP",
            discount=Discount(type="AMOUNT", amount_off=700),
        ),
    )

    assert (updated.metadata, updated.additional_info, updated.discount.amount_off) == (
        {"shelf": "B"},
        "VIP",
        700,
    )
    assert vouchers.disable_voucher(codes[0]).active is False
    assert vouchers.enable_voucher(codes[0]).active is True
    assert vouchers.delete_voucher(codes[0], force=True) is None
    with pytest.raises(NotFoundException):
        vouchers.get_voucher(codes[0])


# --- Promotion tiers and validation rules --------------------------------------------------------------


@pytest.fixture
def over_50(client) -> str:
    return (
        voucherify.ValidationRulesApi(client)
        .create_validation_rules(
            ValidationRulesCreateRequestBody.from_dict(
                {
                    "name": "Over $50",
                    "rules": {
                        "1": {"name": "order.amount", "conditions": {"$more_than_equal": [5000]}},
                        "logic": "1",
                    },
                    "error": {"message": "Spend $50 first"},
                }
            )
        )
        .id
    )


def _redeem_tier(redemptions, tier_id: str, amount: int, customer: str = "sdk-carol"):
    return redemptions.redeem_stacked_discounts(
        RedemptionsRedeemRequestBody(
            redeemables=[RedemptionsRedeemRequestBodyRedeemablesItem(object="promotion_tier", id=tier_id)],
            customer=Customer(source_id=customer),
            order=Order(amount=amount, status="PAID"),
        )
    )


def test_redeem_a_promotion_tier_read_it_and_roll_it_back(client, redemptions, over_50):
    campaign = voucherify.CampaignsApi(client).create_campaign(
        CampaignsCreateRequestBody(
            name="SDK deals",
            campaign_type="PROMOTION",
            type="STATIC",
            promotion=CampaignsCreateRequestBodyPromotion.from_dict(
                {
                    "tiers": [
                        {
                            "name": "10% over $50",
                            "action": {
                                "discount": {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"}
                            },
                            "validation_rules": [over_50],
                        }
                    ]
                }
            ),
        )
    )
    tier_id = campaign.promotion.tiers[0].id

    with pytest.raises(BadRequestException) as refused:
        _redeem_tier(redemptions, tier_id, amount=4_000)
    redeemed = _redeem_tier(redemptions, tier_id, amount=8_000)

    assert '"order_rules_violated"' in refused.value.body
    assert '"Spend $50 first"' in refused.value.body
    (redemption,) = redeemed.redemptions
    assert (redemption.related_object_type, redemption.related_object_id) == ("promotion_tier", tier_id)
    assert (redemption.promotion_tier.id, redemption.promotion_tier.campaign_id) == (tier_id, campaign.id)
    assert redemption.promotion_tier.summary.redemptions.total_redeemed == 1
    assert redeemed.order.discount_amount == 800
    fetched = redemptions.get_redemption(redemption.id)
    assert (fetched.promotion_tier.id, fetched.status) == (tier_id, "SUCCEEDED")
    rollback = redemptions.rollback_redemption(redemption.id, reason="canceled")
    assert isinstance(rollback, RedemptionsRollbackCreateResponseBody)
    assert (rollback.related_object_type, rollback.promotion_tier.id) == ("promotion_tier", tier_id)
    assert rollback.promotion_tier.summary.redemptions.total_redeemed == 0
    failures = redemptions.list_redemptions(result="FAILURE")
    assert [(item.failure_code, item.promotion_tier.id) for item in failures.redemptions] == [
        ("order_rules_violated", tier_id)
    ]


def test_a_campaign_rule_refuses_a_small_order_and_accepts_a_big_one(client, project, redemptions, over_50):
    campaign = voucherify.CampaignsApi(client).create_campaign(
        CampaignsCreateRequestBody(
            name="SDK guarded",
            campaign_type="DISCOUNT_COUPONS",
            type="STATIC",
            vouchers_count=1,
            validation_rules=[over_50],
            voucher=CampaignsCreateRequestBodyVoucher(
                type="DISCOUNT_VOUCHER", discount=Discount(type="AMOUNT", amount_off=500)
            ),
        )
    )
    codes_ = Voucher.objects.for_project(project).filter(campaign__public_id=campaign.id)
    (code,) = codes_.values_list("code", flat=True)

    with pytest.raises(BadRequestException) as refused:
        _redeem(redemptions, code, amount=4_999)
    accepted = _redeem(redemptions, code, amount=5_000)

    assert '"order_rules_violated"' in refused.value.body
    assert accepted.redemptions[0].voucher.code == code
    assert accepted.order.discount_amount == 500


def test_a_referral_program_made_published_and_converted_through_the_sdk(client, project, redemptions):
    campaign = voucherify.CampaignsApi(client).create_campaign(
        CampaignsCreateRequestBody(
            name="SDK refer a friend",
            campaign_type="REFERRAL_PROGRAM",
            type="AUTO_UPDATE",
            vouchers_count=2,
            voucher=CampaignsCreateRequestBodyVoucher.from_dict(
                {"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 500}}
            ),
        )
    )
    publication = voucherify.PublicationsApi(client).create_publication(
        publications_create_request_body=PublicationsCreateRequestBody(
            customer=Customer(source_id="sdk-referrer"),
            campaign=CreatePublicationCampaign(name="SDK refer a friend"),
        )
    )
    code = publication.voucher.code

    with pytest.raises(BadRequestException) as own_code:
        _redeem(redemptions, code, customer="sdk-referrer")
    redeemed = _redeem(redemptions, code, customer="sdk-referee")

    assert campaign.campaign_type == "REFERRAL_PROGRAM"
    assert '"referrer_not_permitted_to_redeem"' in own_code.value.body
    assert redeemed.redemptions[0].result == "SUCCESS"
    referred = DomainEvent.objects.for_project(project).filter(type="customer.referred")
    assert [(event.customer.source_id, event.refs["campaign"]) for event in referred] == [
        ("sdk-referee", campaign.id)
    ]
