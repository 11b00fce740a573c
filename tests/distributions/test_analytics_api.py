"""Analytics, messages and the merged activity of a distribution that sent a code which was then
redeemed; and the campaign's Distributions list counting the same."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_analytics_count_sent_messages_codes_published_and_redeemed(api, delivered):
    distribution = delivered["distribution"]

    body = api.get(f"/v1/distributions/{distribution.public_id}/analytics", {"interval": "hour"}).json()

    assert body["object"] == "distribution_analytics"
    assert body["channels"] == {"webhook": {"sent": 1, "failed": 0, "recovered": 0, "skipped": 0}}
    assert (body["codes_published"], body["codes_redeemed"], body["redemption_rate"]) == (1, 1, 1.0)
    [bucket] = body["series"]
    assert (bucket["channel"], bucket["sent"]) == ("webhook", 1)


def test_messages_list_filters_by_state_and_channel(api, delivered):
    path = f"/v1/distributions/{delivered['distribution'].public_id}/messages"

    sent = api.get(path, {"state": "sent", "channel": "webhook"}).json()
    failed = api.get(path, {"state": "failed"}).json()

    assert [m["id"] for m in sent["messages"]] == [delivered["message"].public_id]
    assert sent["messages"][0]["cause_key"] == f"manual:{delivered['distribution'].public_id}"
    assert (failed["total"], failed["messages"]) == (0, [])


def test_activity_merges_lifecycle_and_message_outcomes_newest_first_across_pages(api, delivered):
    path = f"/v1/distributions/{delivered['distribution'].public_id}/activity"
    everything = api.get(path, {"limit": "100"}).json()["activities"]

    paged, cursor = [], None
    while True:
        page = api.get(path, {"limit": "2", **({"starting_after": cursor} if cursor else {})}).json()
        paged.extend(page["activities"])
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert paged == everything
    kinds = [a["kind"] for a in everything]
    assert kinds[:1] == ["sent"] and "message" in kinds and kinds[-1] == "created"
    assert [a["created_at"] for a in everything] == sorted(
        (a["created_at"] for a in everything), reverse=True
    )
    (outcome,) = api.get(path, {"kind": "message"}).json()["activities"]
    assert outcome["data"]["outcome"] == "sent"


def test_the_campaigns_distributions_count_what_went_out_and_was_redeemed(api, delivered):
    body = api.get(f"/v1/campaigns/{delivered['campaign'].public_id}/distributions").json()

    [row] = body["distributions"]
    assert (row["status"], row["channels_count"]) == ("sent", 1)
    assert (row["codes_published"], row["messages_delivered"], row["codes_redeemed"]) == (1, 1, 1)
    assert row["redemption_rate"] == 1.0
