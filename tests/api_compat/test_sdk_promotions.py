"""The official `voucherify` SDK (6.1.1) driving promotion tiers (`PromotionsApi`) on a live server:
every response parses as the SDK's typed model."""

from __future__ import annotations

import pytest
import voucherify
from voucherify.exceptions import NotFoundException
from voucherify.models import (
    CampaignsCreateRequestBody,
    CampaignsCreateRequestBodyPromotion,
    PromotionsTiersCreateRequestBody,
    PromotionsTiersCreateResponseBody,
    PromotionsTiersDisableResponseBody,
    PromotionsTiersEnableResponseBody,
    PromotionsTiersGetResponseBody,
    PromotionsTiersListResponseBody,
    PromotionsTiersUpdateRequestBody,
    PromotionsTiersUpdateResponseBody,
    ValidationRulesCreateRequestBody,
)

from tests.factories import ProjectFactory, make_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def client(live_server) -> voucherify.ApiClient:
    project = ProjectFactory(slug="sdk-promotions")
    api_key, token = make_api_key(project)
    configuration = voucherify.Configuration(
        host=live_server.url, api_key={"X-App-Id": api_key.app_id, "X-App-Token": token}
    )
    return voucherify.ApiClient(configuration)


@pytest.fixture
def promotions(client) -> voucherify.PromotionsApi:
    return voucherify.PromotionsApi(client)


@pytest.fixture
def rule_id(client) -> str:
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
                    "context_type": "campaign.promotion",
                }
            )
        )
        .id
    )


@pytest.fixture
def campaign(client, rule_id):
    return voucherify.CampaignsApi(client).create_campaign(
        CampaignsCreateRequestBody(
            name="SDK tiers",
            campaign_type="PROMOTION",
            type="STATIC",
            promotion=CampaignsCreateRequestBodyPromotion.from_dict(
                {
                    "tiers": [
                        {
                            "name": "10% over $50",
                            "banner": "Spend $50, save 10%",
                            "action": {
                                "discount": {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"}
                            },
                            "validation_rules": [rule_id],
                            "metadata": {"level": 1},
                        }
                    ]
                }
            ),
        )
    )


def test_sdk_reads_the_tiers_a_campaign_created(promotions, campaign, rule_id):
    tier = campaign.promotion.tiers[0]

    listed = promotions.list_promotion_tiers_from_campaign(campaign.id)
    fetched = promotions.get_promotion_tier(tier.id)

    assert tier.id.startswith("promo_")
    assert (tier.validation_rule_assignments.data[0].rule_id, tier.validation_rule_assignments.total) == (
        rule_id,
        1,
    )
    assert isinstance(listed, PromotionsTiersListResponseBody)
    assert (listed.object, listed.data_ref, listed.total, listed.has_more) == ("list", "tiers", 1, False)
    assert isinstance(fetched, PromotionsTiersGetResponseBody)
    assert (fetched.name, fetched.action.discount.percent_off, fetched.hierarchy) == ("10% over $50", 10, 1)
    assert (fetched.campaign.id, fetched.campaign_id, fetched.object) == (
        campaign.id,
        campaign.id,
        "promotion_tier",
    )
    assert fetched.summary.redemptions.total_redeemed == 0
    assert fetched.validation_rule_assignments.data[0].related_object_type == "promotion_tier"


def test_sdk_adds_updates_and_deletes_a_tier(promotions, campaign, rule_id):
    added = promotions.add_promotion_tier_to_campaign(
        campaign.id,
        PromotionsTiersCreateRequestBody.from_dict(
            {
                "name": "20% over $100",
                "banner": "Spend $100, save 20%",
                "action": {"discount": {"type": "PERCENT", "percent_off": 20, "effect": "APPLY_TO_ORDER"}},
                "validity_day_of_week": [1, 2, 3],
                "start_date": "2025-01-01T00:00:00Z",
                "validation_rule_assignments": {"data": [{"rule_id": rule_id}]},
            }
        ),
    )
    updated = promotions.update_promotion_tier(
        added.id, PromotionsTiersUpdateRequestBody.from_dict({"banner": "Now 20%", "hierarchy": 5})
    )

    assert isinstance(added, PromotionsTiersCreateResponseBody)
    assert (added.hierarchy, added.validity_day_of_week, added.start_date.year) == (2, [1, 2, 3], 2025)
    assert added.validation_rule_assignments.data[0].rule_id == rule_id
    assert isinstance(updated, PromotionsTiersUpdateResponseBody)
    assert (updated.banner, updated.hierarchy, updated.name) == ("Now 20%", 5, "20% over $100")
    assert promotions.delete_promotion_tier(added.id) is None
    with pytest.raises(NotFoundException):
        promotions.get_promotion_tier(added.id)


def test_sdk_disables_enables_and_lists_all_tiers(promotions, campaign):
    tier_id = campaign.promotion.tiers[0].id

    disabled = promotions.disable_promotion_tier(tier_id)
    available = promotions.list_promotion_tiers(is_available=True)
    enabled = promotions.enable_promotion_tier(tier_id)
    everything = promotions.list_promotion_tiers(limit=10, page=1, order="-created_at")

    assert isinstance(disabled, PromotionsTiersDisableResponseBody) and disabled.active is False
    assert available.total == 0
    assert isinstance(enabled, PromotionsTiersEnableResponseBody) and enabled.active is True
    assert [tier.id for tier in everything.tiers] == [tier_id]
