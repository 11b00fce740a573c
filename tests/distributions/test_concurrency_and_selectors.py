"""The due sweep under concurrency (SKIP LOCKED), and the reads other apps use."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from distributions import services
from distributions.models import Distribution
from distributions.selectors import distributions_of_campaign, distributions_using_segment
from tests.campaigns.factories import make_campaign
from tests.dashboard.conftest import signed_in
from tests.distributions.support import EMAIL, automatic_order_paid, manual_publish_codes
from tests.factories import CustomerFactory

DEADLINE_SECONDS = 10


def scheduled_due(project) -> Distribution:
    CustomerFactory(project=project, source_id="ada")
    make_campaign(project, name="Summer", codes_count=1)
    distribution = services.distribution_create(project=project, fields=manual_publish_codes("ada", "Summer"))
    services.distribution_send(project=project, distribution=distribution)
    Distribution.objects.for_project(project).filter(pk=distribution.pk).update(
        send_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    return distribution


@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_another_transaction_is_skipped_not_waited_for(project):
    # given a due distribution that another connection holds locked (a concurrent sweep or cancel)
    distribution = scheduled_due(project)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        try:
            with transaction.atomic():
                Distribution.objects.for_project(project).select_for_update().get(pk=distribution.pk)
                locked.set()
                release.wait(DEADLINE_SECONDS)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(DEADLINE_SECONDS)
    try:
        # when the sweep runs meanwhile, it returns at once without the row
        skipped = services.distributions_claim_due()
    finally:
        release.set()
        holder.join(DEADLINE_SECONDS)

    # then the next sweep, with the lock gone, claims it exactly once
    claimed = services.distributions_claim_due()
    assert skipped == []
    assert [d.pk for d in claimed] == [distribution.pk]
    assert services.distributions_claim_due() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_claim_each_distribution_once(project):
    distribution = scheduled_due(project)
    results: list[list[int]] = []
    start = threading.Barrier(3)

    def sweep():
        try:
            start.wait(DEADLINE_SECONDS)
            results.append([d.pk for d in services.distributions_claim_due()])
        finally:
            connection.close()

    sweepers = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in sweepers:
        thread.start()
    for thread in sweepers:
        thread.join(DEADLINE_SECONDS)

    assert sorted(results, key=len) == [[], [], [distribution.pk]]
    assert Distribution.objects.for_project(project).get(pk=distribution.pk).status == "sending"


@pytest.mark.django_db
def test_distributions_of_a_campaign_are_those_naming_it_in_trigger_or_action(project, other_project):
    CustomerFactory(project=project, source_id="ada")
    summer = make_campaign(project, name="Summer", codes_count=1)
    friends = make_campaign(project, name="Friends", campaign_type="REFERRAL_PROGRAM")
    by_action = services.distribution_create(project=project, fields=manual_publish_codes("ada", "Summer"))
    by_trigger = services.distribution_create(
        project=project,
        fields={"trigger": {"key": "code_published", "params": {"campaign": "Summer"}}},
    )
    services.distribution_create(
        project=project, fields={"trigger": {"key": "customer_referred", "params": {"campaign": "Friends"}}}
    )
    archived = services.distribution_create(project=project, fields=manual_publish_codes("ada", "Summer"))
    services.distribution_delete(project=project, distribution=archived)

    found = distributions_of_campaign(project=project, campaign_public_id=summer.public_id)

    assert [d.pk for d in found] == [by_trigger.pk, by_action.pk]
    assert distributions_of_campaign(project=other_project, campaign_public_id=summer.public_id) == []
    assert len(distributions_of_campaign(project=project, campaign_public_id=friends.public_id)) == 1


@pytest.mark.django_db
def test_distributions_using_a_segment_are_the_ones_that_could_still_send(project):
    # Segments are wired after the merge; the rows are written as the segment resolver will store them.
    live = services.distribution_create(project=project, fields=automatic_order_paid())
    Distribution.objects.for_project(project).filter(pk=live.pk).update(
        status="live", trigger_key="segment_entered", trigger_params={"segment": "seg_1"}
    )
    scheduled = services.distribution_create(project=project, fields={"name": "x"})
    Distribution.objects.for_project(project).filter(pk=scheduled.pk).update(
        status="scheduled", audience={"type": "segment", "segment": "seg_1"}
    )
    draft = services.distribution_create(project=project, fields={"name": "y"})
    Distribution.objects.for_project(project).filter(pk=draft.pk).update(
        audience={"type": "segment", "segment": "seg_1"}
    )

    using = distributions_using_segment(project=project, segment_public_id="seg_1")

    assert [d.pk for d in using] == [live.pk, scheduled.pk]
    assert distributions_using_segment(project=project, segment_public_id="seg_2") == []


@pytest.mark.django_db
def test_the_edit_form_reads_the_time_frame_in_the_project_time_zone(project, owner):
    project.timezone = "Europe/Warsaw"
    project.save()
    distribution = services.distribution_create(
        project=project, fields=automatic_order_paid(channels=[EMAIL])
    )

    response = signed_in(owner).post(
        f"/distributions/{distribution.public_id}/edit/",
        {"name": "Summer nights", "live_from": "2030-07-01T20:00", "live_until": "2030-07-02T02:00"},
    )

    assert response.status_code == 302
    distribution.refresh_from_db()
    assert distribution.live_from == datetime(2030, 7, 1, 18, 0, tzinfo=UTC)
    assert distribution.live_until - distribution.live_from == timedelta(hours=6)
