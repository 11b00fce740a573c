"""The official `voucherify` SDK (6.1.1) driving campaigns, vouchers and publications on a live server.

Every response must come back as the SDK's typed model: its pydantic validators (StrictInt, StrictStr,
required `code_config`, enums such as publication `channel` = "API") are the compatibility check.
"""

from __future__ import annotations

import json

import pytest
import voucherify
from voucherify.exceptions import BadRequestException, NotFoundException
from voucherify.models import (
    CampaignsCreateRequestBody,
    CampaignsCreateRequestBodyPromotion,
    CampaignsCreateRequestBodyVoucher,
    CampaignsCreateRequestBodyVoucherRedemption,
    CampaignsCreateResponseBody,
    CampaignsGetResponseBody,
    CampaignsListResponseBody,
    CampaignsUpdateRequestBody,
    CampaignsUpdateResponseBody,
    CampaignsVouchersCreateCombinedResponseBody,
    CampaignsVouchersCreateInBulkRequestBody,
    CodeConfig,
    CreatePublicationCampaign,
    Customer,
    Discount,
    Gift,
    PublicationsCreateRequestBody,
    PublicationsCreateResponseBody,
    PublicationsListResponseBody,
    VouchersCreateResponseBody,
    VouchersCreateWithSpecificCodeRequestBody,
    VouchersGetResponseBody,
    VouchersListResponseBody,
)

from tests.factories import ProjectFactory, make_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def client(live_server) -> voucherify.ApiClient:
    project = ProjectFactory(slug="sdk-campaigns")
    api_key, token = make_api_key(project)
    configuration = voucherify.Configuration(
        host=live_server.url, api_key={"X-App-Id": api_key.app_id, "X-App-Token": token}
    )
    return voucherify.ApiClient(configuration)


@pytest.fixture
def campaigns(client) -> voucherify.CampaignsApi:
    return voucherify.CampaignsApi(client)


@pytest.fixture
def vouchers(client) -> voucherify.VouchersApi:
    return voucherify.VouchersApi(client)


@pytest.fixture
def publications(client) -> voucherify.PublicationsApi:
    return voucherify.PublicationsApi(client)


def _discount_campaign(count: int = 5, type: str = "AUTO_UPDATE") -> CampaignsCreateRequestBody:
    return CampaignsCreateRequestBody(
        name="SDK ten off",
        campaign_type="DISCOUNT_COUPONS",
        type=type,
        vouchers_count=count,
        metadata={"team": "growth"},
        voucher=CampaignsCreateRequestBodyVoucher(
            type="DISCOUNT_VOUCHER",
            discount=Discount(type="PERCENT", percent_off=10, effect="APPLY_TO_ORDER"),
            redemption=CampaignsCreateRequestBodyVoucherRedemption(quantity=1),
            code_config=CodeConfig(pattern="SDK-#####", charset="ABCDEFGH"),
        ),
    )


def test_sdk_creates_gets_lists_and_updates_a_discount_campaign(campaigns):
    created = campaigns.create_campaign(_discount_campaign())

    assert isinstance(created, CampaignsCreateResponseBody)
    assert created.id.startswith("camp_")
    assert (created.campaign_type, created.type, created.creation_status) == (
        "DISCOUNT_COUPONS",
        "AUTO_UPDATE",
        "DONE",
    )
    assert created.vouchers_count == 5
    assert created.voucher.code_config.pattern == "SDK-#####"
    assert created.voucher.discount.percent_off == 10
    assert created.metadata == {"team": "growth"}

    by_name = campaigns.get_campaign("SDK ten off")
    assert isinstance(by_name, CampaignsGetResponseBody)
    assert by_name.id == created.id

    listed = campaigns.list_campaigns(limit=10, campaign_type="DISCOUNT_COUPONS")
    assert isinstance(listed, CampaignsListResponseBody)
    assert (listed.total, [c.id for c in listed.campaigns]) == (1, [created.id])

    updated = campaigns.update_campaign(
        created.id, CampaignsUpdateRequestBody(description="Now with a description", join_once=True)
    )
    assert isinstance(updated, CampaignsUpdateResponseBody)
    assert (updated.description, updated.join_once) == ("Now with a description", True)


def test_sdk_creates_a_gift_campaign_and_reads_its_codes_balances(campaigns, vouchers):
    created = campaigns.create_campaign(
        CampaignsCreateRequestBody(
            name="SDK gift cards",
            campaign_type="GIFT_VOUCHERS",
            vouchers_count=2,
            voucher=CampaignsCreateRequestBodyVoucher(
                type="GIFT_VOUCHER",
                gift=Gift(amount=1000, effect="APPLY_TO_ORDER"),
                code_config=CodeConfig(pattern="GIFT-CARD-#######"),
            ),
        )
    )
    assert created.voucher.gift.amount == 1000

    listed = vouchers.list_vouchers(campaign="SDK gift cards")
    assert isinstance(listed, VouchersListResponseBody)
    assert listed.total == 2
    code = listed.vouchers[0].code
    voucher = vouchers.get_voucher(code)
    assert isinstance(voucher, VouchersGetResponseBody)
    assert (voucher.type, voucher.gift.amount, voucher.gift.balance) == ("GIFT_VOUCHER", 1000, 1000)
    assert voucher.campaign_id == created.id
    assert voucher.assets.qr.url.startswith("http")


def test_sdk_creates_a_promotion_campaign(campaigns):
    created = campaigns.create_campaign(
        CampaignsCreateRequestBody(
            name="SDK promo",
            campaign_type="PROMOTION",
            type="STATIC",
            promotion=CampaignsCreateRequestBodyPromotion.from_dict(
                {
                    "tiers": [
                        {
                            "name": "Forty",
                            "banner": "Get 40% off",
                            "action": {
                                "discount": {"type": "PERCENT", "percent_off": 40, "effect": "APPLY_TO_ORDER"}
                            },
                        }
                    ]
                }
            ),
        )
    )

    assert created.campaign_type == "PROMOTION"
    assert created.promotion.tiers[0].name == "Forty"


def test_sdk_adds_codes_to_a_campaign(campaigns):
    campaign = campaigns.create_campaign(_discount_campaign(count=0))

    one = campaigns.add_vouchers_to_campaign(
        campaign.id,
        vouchers_count=1,
        campaigns_vouchers_create_in_bulk_request_body=CampaignsVouchersCreateInBulkRequestBody(
            metadata={"batch": "one"}
        ),
    )
    many = campaigns.add_vouchers_to_campaign(campaign.id, vouchers_count=3)

    assert isinstance(one, CampaignsVouchersCreateCombinedResponseBody)
    assert one.code.startswith("SDK-") and one.metadata == {"batch": "one"}
    assert one.redemption.quantity == 1
    assert many.async_action_id.startswith("aa_")
    assert campaigns.get_campaign(campaign.id).vouchers_count == 4


def test_sdk_creates_and_lists_standalone_vouchers(vouchers):
    created = vouchers.create_voucher(
        "SDK-STANDALONE",
        VouchersCreateWithSpecificCodeRequestBody.from_dict(
            {
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "AMOUNT", "amount_off": 500},
                "metadata": {"k": "v"},
            }
        ),
    )

    assert isinstance(created, VouchersCreateResponseBody)
    assert (created.code, created.type, created.discount.amount_off) == (
        "SDK-STANDALONE",
        "DISCOUNT_VOUCHER",
        500,
    )
    listed = vouchers.list_vouchers(limit=5)
    assert [v.code for v in listed.vouchers] == ["SDK-STANDALONE"]
    with pytest.raises(NotFoundException):
        vouchers.get_voucher("NOT-THERE")


def test_sdk_publishes_codes_and_lists_publications(campaigns, publications, vouchers):
    campaigns.create_campaign(_discount_campaign(count=3, type="STATIC"))

    single = publications.create_publication(
        publications_create_request_body=PublicationsCreateRequestBody(
            customer=Customer(source_id="sdk-customer", email="sdk@example.com"),
            campaign=CreatePublicationCampaign(name="SDK ten off"),
            channel="my-own-channel",
            metadata={"origin": "sdk"},
        )
    )
    several = publications.create_publication(
        join_once=False,
        publications_create_request_body=PublicationsCreateRequestBody(
            customer=Customer(source_id="sdk-customer-2"),
            campaign=CreatePublicationCampaign(name="SDK ten off", count=2),
        ),
    )

    assert isinstance(single, PublicationsCreateResponseBody)
    assert (single.channel, single.result, single.object) == ("API", "SUCCESS", "publication")
    assert single.customer.source_id == "sdk-customer"
    assert single.voucher.holder_id == single.customer_id
    assert single.vouchers == [single.voucher.code]
    assert len(several.vouchers) == 2
    with pytest.raises(BadRequestException) as exhausted:
        publications.create_publication(
            publications_create_request_body=PublicationsCreateRequestBody(
                customer=Customer(source_id="sdk-customer-3"),
                campaign=CreatePublicationCampaign(name="SDK ten off"),
            )
        )
    assert '"no_voucher_suitable_for_publication"' in exhausted.value.body

    listed = publications.list_publications(campaign="SDK ten off")
    assert isinstance(listed, PublicationsListResponseBody)
    assert listed.total == 3
    assert {p.voucher.code for p in listed.publications} == {single.voucher.code, *several.vouchers}
    assert all(p.channel == "API" and p.result == "SUCCESS" for p in listed.publications)
    held = vouchers.list_vouchers(customer="sdk-customer")
    assert [v.code for v in held.vouchers] == [single.voucher.code]


def test_sdk_request_built_by_from_dict_sends_nulls_for_what_it_was_not_given(campaigns):
    """`from_dict` sets every optional field, so the request carries `"join_once": null` and the
    like: null means "not given", and the campaign gets the defaults."""
    from campaigns.validation_rules.services import validation_rule_create
    from tenancy.models import Project

    project = Project.objects.get(slug="sdk-campaigns")
    rule = validation_rule_create(
        project=project,
        fields={
            "name": "Over 10",
            "rules": {"1": {"name": "order.amount", "conditions": {"$more_than": [1000]}}},
        },
    )
    body = CampaignsCreateRequestBody.from_dict(
        {
            "name": "From a dict",
            "campaign_type": "DISCOUNT_COUPONS",
            "vouchers_count": 2,
            "validation_rules": [rule.public_id],
            "voucher": {"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT", "percent_off": 5}},
        }
    )
    sent = body.to_dict()
    assert (sent["join_once"], sent["auto_join"], sent["use_voucher_metadata_schema"], sent["type"]) == (
        None,
        None,
        None,
        None,
    )

    created = campaigns.create_campaign(body)

    assert isinstance(created, CampaignsCreateResponseBody)
    assert (created.join_once, created.auto_join, created.use_voucher_metadata_schema) == (
        False,
        False,
        False,
    )
    assert created.type == "AUTO_UPDATE"
    assert created.vouchers_count == 2
    assignments = created.validation_rules_assignments
    assert (assignments.total, [a.rule_id for a in assignments.data]) == (1, [rule.public_id])
    assert assignments.data[0].related_object_id == created.id
    assert assignments.data[0].related_object_type == "campaign"

    # The SDK's list items do not model the assignments; the list body carries them all the same.
    raw = json.loads(campaigns.list_campaigns_without_preload_content(limit=10).data)
    assert [c["validation_rules_assignments"]["total"] for c in raw["campaigns"]] == [1]
    fetched = campaigns.get_campaign(created.id)
    assert fetched.validation_rules_assignments.data[0].id == assignments.data[0].id
