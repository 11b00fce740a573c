"""Save & Send, cancel, pause, resume, delete and the beat sweeps: every transition a service, recorded
in the activity log with a `distribution.*` event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from distributions import services, tasks
from distributions.models import Distribution, DistributionActivity
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.distributions.support import automatic_order_paid, manual_publish_codes, nothing_changes
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

START = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def manual(api, project):
    CustomerFactory(project=project, source_id="ada", email="ada@example.com")
    make_campaign(project, name="Summer", codes_count=3)
    body = api.post("/v1/distributions", manual_publish_codes("ada", "Summer"), format="json").json()
    return Distribution.objects.for_project(project).get(public_id=body["id"])


@pytest.fixture
def automatic(api, project):
    body = api.post("/v1/distributions", automatic_order_paid(), format="json").json()
    return Distribution.objects.for_project(project).get(public_id=body["id"])


def activity_kinds(project, distribution) -> list[str]:
    return list(
        DistributionActivity.objects.for_project(project)
        .filter(distribution=distribution)
        .order_by("created_at", "pk")
        .values_list("kind", flat=True)
    )


def event_types(project) -> list[str]:
    return list(
        DomainEvent.objects.for_project(project)
        .filter(type__startswith="distribution.")
        .order_by("pk")
        .values_list("type", flat=True)
    )


def reload(project, distribution) -> Distribution:
    return Distribution.objects.for_project(project).get(pk=distribution.pk)


# --- Save & Send -----------------------------------------------------------------------------------


def test_sending_a_manual_distribution_schedules_it_ten_minutes_ahead(api, project, manual):
    with time_machine.travel(START, tick=False):
        response = api.post(f"/v1/distributions/{manual.public_id}/send")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["send_at"]) == ("scheduled", "2030-05-01T12:10:00Z")
    assert activity_kinds(project, manual) == ["created", "scheduled"]
    assert event_types(project) == ["distribution.created", "distribution.scheduled"]


def test_sending_an_automatic_distribution_sets_it_live(api, project, automatic):
    response = api.post(f"/v1/distributions/{automatic.public_id}/send")

    assert (response.json()["status"], response.json()["send_at"]) == ("live", None)
    assert activity_kinds(project, automatic) == ["created", "live"]
    assert event_types(project)[-1] == "distribution.live"


def test_sending_a_draft_with_missing_parts_names_each_part_and_changes_nothing(api, project):
    draft = api.post(
        "/v1/distributions",
        {"trigger": {"key": "manual"}, "action": {"key": "publish_codes"}, "channels": [{"kind": "email"}]},
        format="json",
    ).json()

    with nothing_changes():
        response = api.post(f"/v1/distributions/{draft['id']}/send")

    assert_error(
        response,
        400,
        "distribution_incomplete",
        message="Distribution incomplete",
        details="The distribution cannot be sent yet: "
        "Property .name: is required; "
        "Property .audience: is required: one customer or a segment; "
        "Property .action.params.campaign: is required; "
        "Property .channels[0].template.subject: is required; "
        "Property .channels[0].template.body: is required: a body, design or custom_html",
    )


def test_an_empty_draft_lists_everything_it_lacks(api):
    draft = api.post("/v1/distributions", {}, format="json").json()

    details = api.post(f"/v1/distributions/{draft['id']}/send").json()["details"]

    assert details == (
        "The distribution cannot be sent yet: Property .name: is required; "
        "Property .trigger.key: is required; "
        "Property .action.key: is required; Property .channels: at least one channel is required"
    )


def test_send_re_resolves_parameters_so_a_campaign_deleted_since_is_named(api, project, manual):
    from campaigns.models import Campaign

    Campaign.objects.for_project(project).filter(name="Summer").delete()

    with nothing_changes():
        response = api.post(f"/v1/distributions/{manual.public_id}/send")

    assert_error(response, 400, "distribution_incomplete")
    assert (
        "Property .action.params.campaign: cannot find campaign with id camp_" in response.json()["details"]
    )


def test_only_a_draft_can_be_sent(api, automatic):
    api.post(f"/v1/distributions/{automatic.public_id}/send")

    with nothing_changes():
        response = api.post(f"/v1/distributions/{automatic.public_id}/send")

    assert_error(
        response,
        400,
        "invalid_distribution_state",
        details=f"Distribution {automatic.public_id} is live; only a draft can be sent.",
    )


def test_an_automatic_distribution_whose_time_frame_already_closed_cannot_be_sent(api, project):
    body = api.post(
        "/v1/distributions", automatic_order_paid(live_until="2020-01-01T00:00:00Z"), format="json"
    ).json()

    response = api.post(f"/v1/distributions/{body['id']}/send")

    assert_error(response, 400, "distribution_incomplete")
    assert "Property .live_until: is in the past" in response.json()["details"]


# --- Cancel ----------------------------------------------------------------------------------------


def test_a_scheduled_distribution_canceled_inside_the_delay_is_never_claimed(api, project, manual):
    with time_machine.travel(START, tick=False):
        api.post(f"/v1/distributions/{manual.public_id}/send")
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        canceled = api.post(f"/v1/distributions/{manual.public_id}/cancel")
    with time_machine.travel(START + timedelta(minutes=11), tick=False):
        claimed = tasks.claim_due_distributions()

    assert canceled.json()["status"] == "canceled"
    assert claimed == []
    assert reload(project, manual).status == "canceled"
    assert activity_kinds(project, manual) == ["created", "scheduled", "canceled"]


def test_only_a_scheduled_distribution_can_be_canceled(api, automatic):
    api.post(f"/v1/distributions/{automatic.public_id}/send")

    with nothing_changes():
        response = api.post(f"/v1/distributions/{automatic.public_id}/cancel")

    assert_error(response, 400, "invalid_distribution_state")


# --- The due sweep ------------------------------------------------------------------------------------


def test_the_sweep_claims_a_scheduled_distribution_only_once_its_send_time_has_come(api, project, manual):
    with time_machine.travel(START, tick=False):
        api.post(f"/v1/distributions/{manual.public_id}/send")
    with time_machine.travel(START + timedelta(minutes=9, seconds=59), tick=False):
        early = tasks.claim_due_distributions()
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        due = tasks.claim_due_distributions()
        again = tasks.claim_due_distributions()

    assert (early, due, again) == ([], [manual.public_id], [])
    claimed = reload(project, manual)
    assert claimed.status == "sending"
    assert claimed.sending_started_at == START + timedelta(minutes=10)
    assert activity_kinds(project, manual) == ["created", "scheduled", "sending"]
    assert event_types(project)[-1] == "distribution.sending"
    activity = DistributionActivity.objects.for_project(project).get(distribution=manual, kind="sending")
    assert activity.actor_label == "System"


def test_the_sweep_claims_across_projects(api, project, other_project, manual, outsider_api):
    CustomerFactory(project=other_project, source_id="bob")
    make_campaign(other_project, name="Theirs", codes_count=1)
    theirs = outsider_api.post(
        "/v1/distributions", manual_publish_codes("bob", "Theirs"), format="json"
    ).json()
    with time_machine.travel(START, tick=False):
        api.post(f"/v1/distributions/{manual.public_id}/send")
        outsider_api.post(f"/v1/distributions/{theirs['id']}/send")
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        claimed = tasks.claim_due_distributions()

    assert sorted(claimed) == sorted([manual.public_id, theirs["id"]])


def test_a_claimed_distribution_cannot_be_canceled_any_more(api, project, manual):
    with time_machine.travel(START, tick=False):
        api.post(f"/v1/distributions/{manual.public_id}/send")
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        tasks.claim_due_distributions()
        with nothing_changes():
            response = api.post(f"/v1/distributions/{manual.public_id}/cancel")

    assert_error(response, 400, "invalid_distribution_state")


def test_delivery_marks_a_sending_distribution_sent_once_every_message_had_its_first_attempt(
    api, project, manual
):
    with time_machine.travel(START, tick=False):
        api.post(f"/v1/distributions/{manual.public_id}/send")
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        tasks.claim_due_distributions()
    with time_machine.travel(START + timedelta(minutes=12), tick=False):
        services.distribution_mark_sent(project=project, distribution=manual)
        services.distribution_mark_sent(project=project, distribution=manual)

    sent = reload(project, manual)
    assert (sent.status, sent.sent_at) == ("sent", START + timedelta(minutes=12))
    assert activity_kinds(project, manual) == ["created", "scheduled", "sending", "sent"]
    body = api.get(f"/v1/distributions/{manual.public_id}").json()
    assert (body["send_at"], body["sending_started_at"], body["sent_at"]) == (
        "2030-05-01T12:10:00Z",
        "2030-05-01T12:10:00Z",
        "2030-05-01T12:12:00Z",
    )


# --- Pause and resume ---------------------------------------------------------------------------------


def test_a_live_distribution_pauses_with_a_reason_and_resumes_live(api, project, automatic):
    api.post(f"/v1/distributions/{automatic.public_id}/send")

    paused = api.post(
        f"/v1/distributions/{automatic.public_id}/pause", {"reason": "Receiver is down"}, format="json"
    )
    resumed = api.post(f"/v1/distributions/{automatic.public_id}/resume")

    assert (paused.json()["status"], paused.json()["paused_reason"]) == ("paused", "Receiver is down")
    assert (resumed.json()["status"], resumed.json()["paused_reason"]) == ("live", None)
    assert activity_kinds(project, automatic) == ["created", "live", "paused", "resumed"]
    assert event_types(project)[-2:] == ["distribution.paused", "distribution.resumed"]


def test_a_sending_distribution_paused_and_resumed_goes_back_to_sending(api, project, manual):
    with time_machine.travel(START, tick=False):
        api.post(f"/v1/distributions/{manual.public_id}/send")
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        tasks.claim_due_distributions()

    paused = api.post(f"/v1/distributions/{manual.public_id}/pause")
    # delivery finishes its first attempts while paused
    services.distribution_mark_sent(project=project, distribution=manual)
    resumed = api.post(f"/v1/distributions/{manual.public_id}/resume")

    assert paused.json()["status"] == "paused"
    assert resumed.json()["status"] == "sent"


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_a_draft_cannot_be_paused_or_resumed(api, action):
    draft = api.post("/v1/distributions", {}, format="json").json()

    with nothing_changes():
        response = api.post(f"/v1/distributions/{draft['id']}/{action}")

    assert_error(response, 400, "invalid_distribution_state")


def test_transitions_take_no_body_except_pause(api, automatic):
    with nothing_changes():
        response = api.post(f"/v1/distributions/{automatic.public_id}/send", {"now": True}, format="json")
        pause = api.post(f"/v1/distributions/{automatic.public_id}/pause", {"why": "x"}, format="json")

    assert_error(response, 400, "invalid_payload", details="This action takes no request body.")
    assert_error(pause, 400, "invalid_payload", details="Property .why: is not allowed")


# --- The time frame ---------------------------------------------------------------------------------


def test_a_live_distribution_ends_when_its_time_frame_closes(api, project):
    body = api.post(
        "/v1/distributions", automatic_order_paid(live_until="2030-05-01T13:00:00Z"), format="json"
    ).json()
    with time_machine.travel(START, tick=False):
        api.post(f"/v1/distributions/{body['id']}/send")
    with time_machine.travel(START + timedelta(minutes=59), tick=False):
        early = tasks.end_closed_distributions()
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        ended = tasks.end_closed_distributions()

    assert (early, ended) == ([], [body["id"]])
    assert api.get(f"/v1/distributions/{body['id']}").json()["status"] == "ended"
    assert event_types(project)[-1] == "distribution.ended"


def test_a_paused_distribution_also_ends_and_one_resumed_after_its_frame_ends_at_once(api, project):
    first = api.post(
        "/v1/distributions", automatic_order_paid(live_until="2030-05-01T13:00:00Z"), format="json"
    ).json()
    second = api.post(
        "/v1/distributions", automatic_order_paid(live_until="2030-05-01T13:00:00Z"), format="json"
    ).json()
    with time_machine.travel(START, tick=False):
        for body in (first, second):
            api.post(f"/v1/distributions/{body['id']}/send")
            api.post(f"/v1/distributions/{body['id']}/pause")
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        resumed = api.post(f"/v1/distributions/{second['id']}/resume").json()
        swept = tasks.end_closed_distributions()

    assert resumed["status"] == "ended"
    assert swept == [first["id"]]


def test_the_time_frame_is_compared_with_the_events_time():
    distribution = Distribution(
        live_from=datetime(2030, 1, 1, tzinfo=UTC), live_until=datetime(2030, 2, 1, tzinfo=UTC)
    )

    assert not distribution.is_in_time_frame(datetime(2029, 12, 31, 23, 59, tzinfo=UTC))
    assert distribution.is_in_time_frame(datetime(2030, 1, 1, tzinfo=UTC))
    assert not distribution.is_in_time_frame(datetime(2030, 2, 1, tzinfo=UTC))


# --- Delete ------------------------------------------------------------------------------------------


def test_delete_archives_the_distribution_which_keeps_its_history(api, project, automatic):
    api.post(f"/v1/distributions/{automatic.public_id}/send")

    response = api.delete(f"/v1/distributions/{automatic.public_id}")

    assert response.status_code == 204
    assert reload(project, automatic).status == "archived"
    assert api.get("/v1/distributions").json()["total"] == 0
    assert api.get(f"/v1/distributions/{automatic.public_id}").json()["status"] == "archived"
    assert activity_kinds(project, automatic) == ["created", "live", "archived"]
    assert not Distribution.objects.for_project(project).live_for_event_type("customer.order.paid").exists()
