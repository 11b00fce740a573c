"""Distributions and segments: a segment audience resolved at the claim, the first-sync countdown,
the preflight's counts, the segment triggers, and a segment in use that cannot be deleted."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from campaigns.models import Publication
from customers.orders import order_upsert
from distributions import sending, services
from distributions.models import Distribution, DistributionActivity
from segments import sync
from segments.models import Segment, SegmentSyncJob
from segments.services import segment_add_customers, segment_create
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.distributions.engine_support import (
    automatic,
    create_and_send,
    dispatch_all,
    make_due,
    messages_of,
    webhook_channel,
)
from tests.distributions.support import EMAIL
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BIG_SPENDERS = {"summary.orders.total_amount": {"conditions": {"$more_than": [10000]}}}


def static_segment(project, *source_ids, **fields):
    for source_id in source_ids:
        CustomerFactory(project=project, source_id=source_id, **fields)
    return segment_create(project=project, name="Friends", type="static", customers=list(source_ids))


def manual_to_segment(segment, campaign, channels) -> dict:
    return {
        "name": "To the segment",
        "trigger": {"key": "manual"},
        "audience": {"type": "segment", "segment": segment.public_id},
        "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
        "channels": channels,
    }


def test_a_segment_audience_gets_one_message_each_with_their_own_code(local_project, endpoint):
    segment = static_segment(local_project, "ada", "bob", "cy")
    campaign = make_campaign(local_project, codes_count=5)
    distribution = create_and_send(
        local_project, manual_to_segment(segment, campaign, [webhook_channel(endpoint)])
    )
    make_due(local_project, distribution)
    services.distributions_claim_due()
    distribution.refresh_from_db()

    created = sending.distribution_materialise(project=local_project, distribution=distribution)

    messages = list(messages_of(local_project, distribution))
    codes = {
        p.customer_id: p.voucher.code
        for p in Publication.objects.for_project(local_project).filter(distribution_id=distribution.pk)
    }
    assert created == {"webhook": 3}
    assert {m.customer_id: m.variables["voucher.code"] for m in messages} == codes
    assert len(set(codes.values())) == 3


def test_a_segment_still_in_its_first_sync_starts_the_countdown_when_the_sync_finishes(
    local_project, endpoint
):
    segment = segment_create(
        project=local_project, name="Big spenders", type="auto-update", filter=BIG_SPENDERS
    )
    assert segment.initial_sync_status == Segment.InitialSyncStatus.IN_PROGRESS
    campaign = make_campaign(local_project, codes_count=5)
    distribution = create_and_send(
        local_project, manual_to_segment(segment, campaign, [webhook_channel(endpoint)])
    )
    assert (distribution.status, distribution.send_at) == ("scheduled", None)

    sync.sync_job_run(SegmentSyncJob.objects.for_project(local_project).get(segment=segment).pk)
    dispatch_all(local_project)

    segment.refresh_from_db()
    distribution.refresh_from_db()
    assert distribution.send_at == segment.first_synced_at + timedelta(minutes=10)
    assert services.distributions_claim_due() == []


def test_the_preflight_counts_a_segment_audience_and_who_lacks_an_address(api, local_project):
    segment = static_segment(local_project, "ada", "bob", email="")
    CustomerFactory(project=local_project, source_id="cy", email="cy@example.com")
    segment_add_customers(project=local_project, segment=segment, customers=["cy"])
    campaign = make_campaign(local_project, codes_count=1)
    draft = services.distribution_create(
        project=local_project, fields=manual_to_segment(segment, campaign, [EMAIL])
    )

    body = api.get(f"/v1/distributions/{draft.public_id}/preflight").json()

    assert body["audience"] == {"type": "segment", "size": 3, "available": True, "reason": ""}
    assert body["skipped"] == [{"channel": "email", "reason": "no_email", "count": 2}]
    assert (body["code_pool"]["needed"], body["code_pool"]["missing"]) == (3, 2)


def test_a_segment_used_by_a_scheduled_distribution_cannot_be_deleted_until_it_is_canceled(
    api, local_project, endpoint
):
    segment = static_segment(local_project, "ada")
    campaign = make_campaign(local_project, codes_count=1)
    distribution = create_and_send(
        local_project, manual_to_segment(segment, campaign, [webhook_channel(endpoint)])
    )

    refused = api.delete(f"/v1/segments/{segment.public_id}")

    error = assert_error(refused, 400, "segment_in_use")
    assert distribution.public_id in error["details"] and "scheduled" in error["details"]
    assert Segment.objects.for_project(local_project).filter(pk=segment.pk).exists()

    services.distribution_cancel(project=local_project, distribution=distribution)
    assert api.delete(f"/v1/segments/{segment.public_id}").status_code == 204


def test_entering_a_segment_fires_the_segment_entered_trigger(
    local_project, endpoint, django_capture_on_commit_callbacks
):
    segment = segment_create(
        project=local_project, name="Big spenders", type="auto-update", filter=BIG_SPENDERS
    )
    sync.sync_job_run(SegmentSyncJob.objects.for_project(local_project).get(segment=segment).pk)
    ada = CustomerFactory(project=local_project, source_id="ada")
    distribution = create_and_send(
        local_project, automatic("segment_entered", endpoint, params={"segment": segment.public_id})
    )
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_all(local_project)

        order_upsert(
            project=local_project,
            fields={"source_id": "big", "status": "PAID", "amount": 20000, "customer": {"source_id": "ada"}},
        )
        dispatch_all(local_project)

    [message] = messages_of(local_project, distribution)
    assert message.customer_id == ada.pk
    assert Distribution.objects.for_project(local_project).get(pk=distribution.pk).status == "live"


def test_customers_without_a_phone_are_skipped_on_sms_and_counted_with_the_reason(local_project, endpoint):
    segment = static_segment(local_project, "ada", "bob", phone="")
    CustomerFactory(project=local_project, source_id="cy", phone="+48500100200")
    segment_add_customers(project=local_project, segment=segment, customers=["cy"])
    campaign = make_campaign(local_project, codes_count=5)
    sms = {"kind": "sms", "template": {"body": "Your code: {{voucher.code}}"}}
    distribution = create_and_send(
        local_project, manual_to_segment(segment, campaign, [sms, webhook_channel(endpoint)])
    )
    make_due(local_project, distribution)
    services.distributions_claim_due()
    distribution.refresh_from_db()

    sending.distribution_materialise(project=local_project, distribution=distribution)

    sms_states = Counter(
        messages_of(local_project, distribution).filter(channel="sms").values_list("state", "last_error")
    )
    assert sms_states == Counter({("skipped", "no_phone"): 2, ("queued", ""): 1})
    # Everyone is reachable by webhook, so everyone has their code, shared by both channels.
    assert Publication.objects.for_project(local_project).filter(distribution_id=distribution.pk).count() == 3
    line = DistributionActivity.objects.for_project(local_project).get(
        distribution=distribution, kind="materialised"
    )
    assert line.data["skipped"] == {"sms": {"no_phone": 2}}
