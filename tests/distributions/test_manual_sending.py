"""Manual sending in-process: the claim's materialisation creates one message per customer and
channel with that customer's own code, idempotently; a short code pool fails before anything goes;
pause, resume and delete reach the message stream."""

from __future__ import annotations

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Publication
from distributions import sending, services
from distributions.models import ActivityKind, Distribution, DistributionActivity, DistributionStatus
from messaging.models import Message, MessageStream, MessageTemplate
from tests.campaigns.factories import make_campaign
from tests.distributions.engine_support import create_and_send, make_due, manual_segmentless, messages_of
from tests.factories import CustomerFactory
from tests.support.messaging import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(local_project):
    return CustomerFactory(project=local_project, source_id="ada", email="ada@example.com")


def claimed(project, distribution):
    make_due(project, distribution)
    assert [d.pk for d in services.distributions_claim_due()] == [distribution.pk]
    distribution.refresh_from_db()
    return distribution


def test_save_and_send_saves_a_webhook_template_version_naming_the_endpoint(local_project, ada, endpoint):
    campaign = make_campaign(local_project, codes_count=2)
    distribution = create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))

    channel = distribution.channels.get()
    template = MessageTemplate.objects.for_project(local_project).get(pk=channel.message_template_id)
    assert (template.channel, template.content["endpoint"], template.content["event_name"]) == (
        "webhook",
        endpoint.public_id,
        "distribution.test",
    )
    # Manual: no stream until it is claimed.
    assert distribution.stream_public_id == ""


def test_materialising_a_claimed_distribution_gives_the_customer_one_message_with_their_code(
    local_project, ada, endpoint
):
    campaign = make_campaign(local_project, codes_count=3)
    distribution = claimed(
        local_project, create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    )

    created = sending.distribution_materialise(project=local_project, distribution=distribution)

    publication = Publication.objects.for_project(local_project).get(distribution_id=distribution.pk)
    message = messages_of(local_project, distribution).get()
    assert created == {"webhook": 1}
    assert (message.customer_id, message.cause_key, message.state) == (
        ada.pk,
        f"manual:{distribution.public_id}",
        Message.State.QUEUED,
    )
    assert message.variables["voucher.code"] == publication.voucher.code
    assert message.variables["publication.id"] == publication.public_id
    assert message.variables["campaign.id"] == campaign.public_id
    assert publication.cause_key == f"manual:{distribution.public_id}"
    distribution.refresh_from_db()
    assert distribution.materialised_at is not None
    assert (
        DistributionActivity.objects.for_project(local_project)
        .filter(distribution=distribution, kind=ActivityKind.MATERIALISED)
        .exists()
    )


def test_materialising_again_creates_no_second_message_and_publishes_no_second_code(
    local_project, ada, endpoint
):
    campaign = make_campaign(local_project, codes_count=3)
    distribution = claimed(
        local_project, create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    )
    sending.distribution_materialise(project=local_project, distribution=distribution)
    Distribution.objects.for_project(local_project).filter(pk=distribution.pk).update(materialised_at=None)

    again = sending.distribution_materialise(project=local_project, distribution=distribution)

    assert again == {"webhook": 0}
    assert Publication.objects.for_project(local_project).filter(distribution_id=distribution.pk).count() == 1
    assert messages_of(local_project, distribution).count() == 1


def test_a_run_resumed_after_its_codes_committed_gives_the_messages_those_codes(local_project, ada, endpoint):
    # Given a crash after the batch's codes committed and before its messages did
    campaign = make_campaign(local_project, codes_count=3)
    distribution = claimed(
        local_project, create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    )
    sending.distribution_materialise(project=local_project, distribution=distribution)
    messages_of(local_project, distribution).delete()
    Distribution.objects.for_project(local_project).filter(pk=distribution.pk).update(materialised_at=None)

    again = sending.distribution_materialise(project=local_project, distribution=distribution)

    publication = Publication.objects.for_project(local_project).get(distribution_id=distribution.pk)
    message = messages_of(local_project, distribution).get()
    assert again == {"webhook": 1}
    assert (message.variables["voucher.code"], message.variables["publication.id"]) == (
        publication.voucher.code,
        publication.public_id,
    )


def test_a_code_pool_too_small_pauses_before_anything_is_published_and_says_how_many_are_missing(
    local_project, ada, endpoint
):
    campaign = make_campaign(local_project, codes_count=0)
    distribution = claimed(
        local_project, create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    )

    created = sending.distribution_materialise(project=local_project, distribution=distribution)

    distribution.refresh_from_db()
    assert created == {}
    assert (distribution.status, distribution.paused_from) == (DistributionStatus.PAUSED, "sending")
    assert "short by 1 codes: 1 needed, 0 free" in distribution.paused_reason
    assert not Publication.objects.for_project(local_project).filter(distribution_id=distribution.pk).exists()
    assert not messages_of(local_project, distribution).exists()
    line = (
        DistributionActivity.objects.for_project(local_project).filter(distribution=distribution).latest("pk")
    )
    assert (line.kind, "short by 1 codes" in line.message) == (ActivityKind.PAUSED, True)


def test_a_distribution_is_sent_only_once_every_message_had_its_first_attempt(local_project, ada, endpoint):
    campaign = make_campaign(local_project, codes_count=1)
    distribution = claimed(
        local_project, create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    )
    sending.distribution_materialise(project=local_project, distribution=distribution)
    distribution.refresh_from_db()

    assert sending.distribution_check_sent(project=local_project, distribution=distribution) is False
    messages_of(local_project, distribution).update(
        state=Message.State.DEFERRED, first_attempt_at=distribution.updated_at
    )
    assert sending.distribution_check_sent(project=local_project, distribution=distribution) is True

    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.SENT


def test_the_sweep_hands_a_stalled_materialisation_over_again(local_project, ada, endpoint, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    campaign = make_campaign(local_project, codes_count=1)
    distribution = claimed(
        local_project, create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    )
    assert sending.distributions_sweep_sending()["materialise"] == []  # just claimed: give it time

    time_machine.shift(sending.STALLED_AFTER.total_seconds() + 1)

    assert sending.distributions_sweep_sending()["materialise"] == [distribution.public_id]


def test_while_a_live_run_holds_the_materialisation_another_run_and_the_sweep_leave_it_alone(
    local_project, ada, endpoint, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    campaign = make_campaign(local_project, codes_count=1)
    distribution = claimed(
        local_project, create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    )
    time_machine.shift(sending.STALLED_AFTER.total_seconds() + 1)
    # A worker materialising it, on a database session of its own.
    live_run = psycopg2.connect(**connection.get_connection_params())
    live_run.autocommit = True
    try:
        with live_run.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s, %s)", [sending.MATERIALISE_LOCK_SPACE, distribution.pk]
            )

        # Two runs over one audience would race for the same customers' codes (the loser found them
        # locked and skipped those customers as having no code): the second leaves at once.
        assert sending.materialisation_running(distribution) is True
        assert sending.distribution_materialise(project=local_project, distribution=distribution) == {}
        assert not messages_of(local_project, distribution).exists()
        assert not Publication.objects.for_project(local_project).exists()
        assert sending.distributions_sweep_sending()["materialise"] == []
    finally:
        live_run.close()  # as a killed worker's session ends

    # The server ends the session (and frees its locks) a moment after the client has gone.
    wait_until(
        lambda: not sending.materialisation_running(distribution), timeout=10, what="the lock to be freed"
    )
    assert sending.distributions_sweep_sending()["materialise"] == [distribution.public_id]
    assert sending.distribution_materialise(project=local_project, distribution=distribution) == {
        "webhook": 1
    }
    assert messages_of(local_project, distribution).get().variables["voucher.code"] == (
        Publication.objects.for_project(local_project).get().voucher.code
    )
    assert sending.materialisation_running(distribution) is False  # released when done


def test_pause_resume_and_delete_reach_the_stream(local_project, ada, endpoint):
    campaign = make_campaign(local_project, codes_count=1)
    distribution = claimed(
        local_project, create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    )
    sending.distribution_materialise(project=local_project, distribution=distribution)
    distribution.refresh_from_db()
    stream = MessageStream.objects.for_project(local_project).get(public_id=distribution.stream_public_id)

    services.distribution_pause(project=local_project, distribution=distribution, reason="checking")
    stream.refresh_from_db()
    assert (stream.state, stream.paused_reason) == ("paused", "checking")

    services.distribution_resume(project=local_project, distribution=distribution)
    stream.refresh_from_db()
    assert stream.state == "open"

    services.distribution_delete(project=local_project, distribution=distribution)
    stream.refresh_from_db()
    assert stream.state == "closed"
    assert messages_of(local_project, distribution).get().state == Message.State.SKIPPED
