"""The catalogue pinned against voucherify-api.md, section 14: event types, actions per trigger and
the channels each (trigger, action) pair offers."""

from __future__ import annotations

import pytest

from distributions import catalogue
from distributions.catalogue import Category, Mode

# Section 14, "Distribution trigger event types" (the ones the catalogue's triggers use).
SECTION_14_EVENT_TYPES = {
    "manual_distribution_schedule",
    "customer.custom_event",
    "customer.segment.entered",
    "customer.segment.left",
    "customer.order.created",
    "customer.order.updated",
    "customer.order.paid",
    "customer.order.canceled",
    "customer.publication.succeeded",
    "customer.redemption.succeeded",
    "customer.redemption.rollback.succeeded",
    "customer.voucher.gift.balance_added",
    "customer.voucher.loyalty_card.points_added",
    "customer.voucher.loyalty_card.points_expired",
    "customer.rewarded.loyalty_points",
    "customer.reward_redemptions.completed",
    "customer.referred",
    "customer.loyalty.tier.joined",
    "customer.loyalty.tier.left",
    "customer.loyalty.tier.upgraded",
    "customer.loyalty.tier.downgraded",
    "customer.loyalty.tier.prolonged",
}

MESSAGE_ACTIONS = {
    "plain_message",
    "credits_message",
    "points_message",
    "reward_message",
    "published_code_message",
}
BROAD_ACTIONS = {"notify_promotion", "publish_codes", "plain_message"}


def test_every_trigger_uses_a_section_14_event_type_and_each_type_once():
    event_types = [t.event_type for t in catalogue.TRIGGERS]

    assert set(event_types) == SECTION_14_EVENT_TYPES
    assert len(event_types) == len(set(event_types))


def test_keys_are_unique_across_each_table():
    for table in (catalogue.TRIGGERS, catalogue.ACTIONS, catalogue.CHANNELS):
        keys = [row.key for row in table]
        assert len(keys) == len(set(keys))


def test_only_the_manual_trigger_is_manual():
    assert {t.key for t in catalogue.TRIGGERS if t.mode == Mode.MANUAL} == {"manual"}


@pytest.mark.parametrize(
    "category", [Category.MANUAL, Category.CUSTOM_EVENT, Category.CART, Category.SEGMENT]
)
def test_manual_custom_event_cart_and_segment_triggers_allow_the_three_broad_actions(category):
    for trigger in catalogue.search_triggers(category=category):
        assert {a.key for a in catalogue.actions_for(trigger.key)} == BROAD_ACTIONS, trigger.key


@pytest.mark.parametrize(
    "category",
    [Category.VOUCHER, Category.REWARDS, Category.LOYALTY_TIER, Category.REFERRAL, Category.PUBLISHING],
)
def test_voucher_reward_tier_referral_and_publishing_triggers_allow_only_message_actions(category):
    for trigger in catalogue.search_triggers(category=category):
        allowed = {a.key for a in catalogue.actions_for(trigger.key)}
        assert "plain_message" in allowed
        assert allowed <= MESSAGE_ACTIONS, trigger.key


def test_the_message_actions_follow_what_their_trigger_produced():
    assert {a.key for a in catalogue.actions_for("gift_credits_added")} == {
        "plain_message",
        "credits_message",
    }
    assert {a.key for a in catalogue.actions_for("loyalty_points_added")} == {
        "plain_message",
        "points_message",
    }
    assert {a.key for a in catalogue.actions_for("tier_points_rewarded")} == {
        "plain_message",
        "points_message",
    }
    assert {a.key for a in catalogue.actions_for("reward_redeemed")} == {"plain_message", "reward_message"}
    assert {a.key for a in catalogue.actions_for("code_published")} == {
        "plain_message",
        "published_code_message",
    }
    assert {a.key for a in catalogue.actions_for("voucher_redeemed")} == {"plain_message"}


def channel_keys(trigger: str, action: str) -> set[str]:
    return {c.key for c in catalogue.channels_for(trigger, action)}


@pytest.mark.parametrize("trigger", ["segment_entered", "order_paid", "custom_event"])
@pytest.mark.parametrize("action", sorted(BROAD_ACTIONS))
def test_segment_order_and_custom_event_triggers_offer_webhooks_for_all_three_actions(trigger, action):
    assert "webhook" in channel_keys(trigger, action)


def test_manual_messages_offer_webhooks_for_notify_and_publish_but_not_for_a_plain_message():
    assert "webhook" in channel_keys("manual", "notify_promotion")
    assert "webhook" in channel_keys("manual", "publish_codes")
    assert channel_keys("manual", "plain_message") == {"email", "sms"}


@pytest.mark.parametrize(
    "trigger",
    [
        t.key
        for t in catalogue.TRIGGERS
        if t.category in {"voucher", "rewards", "loyalty_tier", "referral", "publishing"}
    ],
)
def test_voucher_reward_tier_referral_and_published_triggers_offer_webhooks_only_for_a_plain_message(trigger):
    for action in catalogue.actions_for(trigger):
        offers_webhook = "webhook" in channel_keys(trigger, action.key)
        assert offers_webhook == (action.key == "plain_message"), (trigger, action.key)


def test_integrations_are_offered_only_for_actions_that_carry_a_code():
    for trigger in catalogue.TRIGGERS:
        for action in catalogue.actions_for(trigger.key):
            integrations = channel_keys(trigger.key, action.key) & {"mailchimp", "braze"}
            assert bool(integrations) == action.carries_code, (trigger.key, action.key)
    assert {a.key for a in catalogue.ACTIONS if a.carries_code} == {"publish_codes", "published_code_message"}


def test_every_allowed_pair_offers_email_and_sms_and_a_disallowed_pair_offers_nothing():
    for trigger in catalogue.TRIGGERS:
        for action in catalogue.actions_for(trigger.key):
            assert {"email", "sms"} <= channel_keys(trigger.key, action.key)
    assert channel_keys("voucher_redeemed", "publish_codes") == set()
    assert channel_keys("no_such_trigger", "plain_message") == set()


def test_parameters_each_trigger_needs():
    def required(key: str) -> dict[str, str]:
        return {p.name: str(p.kind) for p in catalogue.trigger(key).required_parameters}

    assert required("manual") == {}
    assert required("custom_event") == {"event_name": "custom_event_name"}
    assert required("order_paid") == {}
    assert catalogue.trigger("order_paid").parameter("validation_rule").required is False
    assert required("segment_left") == {"segment": "segment"}
    assert required("customer_referred") == {"campaign": "campaign"}
    assert catalogue.trigger("customer_referred").parameter("campaign").campaign_types == (
        "REFERRAL_PROGRAM",
    )
    assert required("tier_upgraded") == {"campaign": "loyalty_campaign"}
    assert catalogue.trigger("tier_upgraded").parameter("loyalty_tier").required is False
    assert catalogue.trigger("gift_credits_added").parameter("campaign").campaign_types == ("GIFT_VOUCHERS",)
    assert {p.name for p in catalogue.action("publish_codes").required_parameters} == {"campaign"}
    assert {p.name for p in catalogue.action("notify_promotion").required_parameters} == {"promotion_tier"}


def test_search_by_category_and_text():
    assert [t.key for t in catalogue.search_triggers(category="cart")] == [
        "order_created",
        "order_updated",
        "order_paid",
        "order_canceled",
    ]
    assert [t.key for t in catalogue.search_triggers(text="PAID")] == ["order_paid"]
    assert [t.key for t in catalogue.search_triggers(text="tier upgraded")] == ["tier_upgraded"]
    assert [t.key for t in catalogue.search_triggers(category="segment", text="left")] == ["segment_left"]
    assert catalogue.search_triggers(category="cart", text="segment") == []
