"""The distributions list and page as marketers and ops people use them: columns, filters, statuses
refreshed in place, actions answered with toasts, the four tabs; and what a viewer may not do."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from distributions import services
from distributions.models import Distribution
from messaging.models import Message
from tests.dashboard.conftest import signed_in
from tests.distributions.support import nothing_changes
from tests.e2e.showcase import build_showcase
from tests.segments.support import nothing_changes as no_segment_changes

pytestmark = pytest.mark.django_db

TITLE = re.compile(r'class="row-title" href="/distributions/(distr_[0-9a-f]+)/"')
HTMX = {"HTTP_HX_REQUEST": "true"}


def listed(response) -> list[str]:
    return TITLE.findall(response.content.decode())


def row_of(html: str, distribution: Distribution) -> str:
    row = html[html.index(f'id="row-{distribution.public_id}"') :]
    return row[: row.index("</tr>")]


@pytest.fixture
def showcase(project, marketer):
    return build_showcase(project, by=marketer)


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- The list -------------------------------------------------------------------------------------


def test_a_row_shows_title_trigger_conditions_by_name_channel_icons_status_and_actions(showcase, owner):
    html = signed_in(owner).get("/distributions/").content.decode()

    row = row_of(html, showcase.live)
    assert ">Thank you for your order</a>" in row
    assert "Order paid → send and publish unique codes" in row
    assert "Validation rule: Order paid over $99 · Campaign: Black Friday 20% off" in row
    assert 'role="img" aria-label="Email"' in row and 'role="img" aria-label="Webhook"' in row
    assert ">Live</span>" in row and "As events arrive" in row
    for action in ("Pause", "Overview of", "Edit", "Delete"):
        assert f'aria-label="{action} Thank you for your order"' in row
    assert 'hx-confirm="Delete “Thank you for your order”?' in row


def test_a_scheduled_row_counts_down_and_polls_its_status_and_a_settled_one_does_not(showcase, owner):
    html = signed_in(owner).get("/distributions/").content.decode()

    scheduled = row_of(html, showcase.scheduled)
    assert f'hx-get="/distributions/{showcase.scheduled.public_id}/row/" hx-trigger="every 3s"' in scheduled
    assert f'data-countdown="{showcase.scheduled.send_at.isoformat()}"' in scheduled
    assert "hx-trigger" not in row_of(html, showcase.live)
    assert "hx-trigger" not in row_of(html, showcase.paused)
    assert 'aria-label="Resume Welcome to the club"' in row_of(html, showcase.paused)


def test_the_row_partial_follows_the_status_and_a_plain_link_gets_the_page(showcase, owner, project):
    client = signed_in(owner)
    url = f"/distributions/{showcase.scheduled.public_id}/row/"
    Distribution.objects.for_project(project).filter(pk=showcase.scheduled.pk).update(
        send_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    services.distributions_claim_due()

    partial = client.get(url, **HTMX).content.decode()

    assert partial.lstrip().startswith(f'<tr id="row-{showcase.scheduled.public_id}"')
    assert ">Sending</span>" in partial and "Preparing messages" in partial
    assert client.get(url).url == f"/distributions/{showcase.scheduled.public_id}/"


def test_a_sending_row_shows_its_progress(showcase, owner, project):
    sent = showcase.sent
    Distribution.objects.for_project(project).filter(pk=sent.pk).update(status="sending")
    stream_messages = Message.objects.for_project(project).filter(stream__public_id=sent.stream_public_id)
    total = stream_messages.count()
    stream_messages.filter(pk__in=list(stream_messages.values_list("pk", flat=True)[:20])).update(
        state="queued"
    )

    row = row_of(signed_in(owner).get("/distributions/").content.decode(), sent)

    assert f'<progress max="{total}" value="{total - 20}"' in row
    assert f"{total - 20} of {total} done" in row


def test_pausing_from_the_list_answers_with_the_row_and_a_toast(showcase, marketer, project):
    client = signed_in(marketer)

    paused = client.post(f"/distributions/{showcase.live.public_id}/pause/", **HTMX)
    resumed = client.post(f"/distributions/{showcase.live.public_id}/resume/", **HTMX)

    assert ">Paused</span>" in paused.content.decode()
    assert json.loads(paused["HX-Trigger"]) == {
        "toast": {"level": "success", "message": "“Thank you for your order” paused."}
    }
    assert ">Live</span>" in resumed.content.decode()
    assert json.loads(resumed["HX-Trigger"])["toast"]["message"] == "“Thank you for your order” resumed."
    assert Distribution.objects.for_project(project).get(pk=showcase.live.pk).status == "live"


def test_a_refused_action_from_the_list_keeps_the_row_and_says_why(showcase, marketer):
    client = signed_in(marketer)

    with nothing_changes():
        response = client.post(f"/distributions/{showcase.paused.public_id}/pause/", **HTMX)

    assert ">Paused</span>" in response.content.decode()
    toast = json.loads(response["HX-Trigger"])["toast"]
    assert toast == {
        "level": "error",
        "message": f"Distribution {showcase.paused.public_id} is paused; "
        "only a live, sending or sent distribution can be paused.",
    }


def test_deleting_from_the_list_removes_the_row_and_keeps_it_behind_the_archived_filter(showcase, marketer):
    client = signed_in(marketer)

    response = client.post(f"/distributions/{showcase.draft.public_id}/delete/", **HTMX)

    assert response.content == b""
    assert json.loads(response["HX-Trigger"])["toast"]["message"] == "“Cart reminder” deleted."
    assert showcase.draft.public_id not in listed(client.get("/distributions/"))
    assert listed(client.get("/distributions/", {"status": "archived"})) == [showcase.draft.public_id]


def test_the_list_filters_by_subject_text_and_creation_days_in_the_project_time_zone(
    project, owner, marketer
):
    project.timezone = "America/New_York"
    project.save(update_fields=["timezone"])
    # 02:00 UTC on May 2 is still May 1 in New York.
    with time_machine.travel(datetime(2030, 5, 2, 2, 0, tzinfo=UTC), tick=False):
        showcase = build_showcase(project, by=marketer)
    with time_machine.travel(datetime(2030, 5, 3, 15, 0, tzinfo=UTC), tick=False):
        later = services.distribution_create(project=project, fields={"name": "Later one"})
    client = signed_in(owner)

    by_subject = listed(client.get("/distributions/", {"q": "spring is HERE"}))
    may_first = listed(
        client.get("/distributions/", {"created_from": "2030-05-01", "created_to": "2030-05-01"})
    )
    from_may_second = listed(client.get("/distributions/", {"created_from": "2030-05-02"}))

    assert by_subject == [showcase.scheduled.public_id]
    assert later.public_id not in may_first and showcase.scheduled.public_id in may_first
    assert from_may_second == [later.public_id]


def test_a_backwards_date_range_is_named_next_to_its_field_and_filters_nothing(showcase, owner):
    response = signed_in(owner).get(
        "/distributions/", {"created_from": "2030-05-02", "created_to": "2030-05-01"}
    )

    html = response.content.decode()
    assert (
        '<p class="error" id="id_created_to_error">Created until: Pick a day on or after the start day.</p>'
        in html
    )
    assert len(listed(response)) == 5


def test_the_empty_list_says_what_a_distribution_is_and_how_to_make_one(owner, viewer):
    owner_html = signed_in(owner).get("/distributions/").content.decode()
    viewer_html = signed_in(viewer).get("/distributions/").content.decode()

    assert "No distributions yet" in owner_html and "Create distribution" in owner_html
    assert "Marketers and admins create them" in viewer_html


def test_the_list_costs_the_same_queries_for_5_or_25_rows(showcase, owner, project, marketer):
    client = signed_in(owner)
    client.get("/")  # the first request of a session stores the selected project
    few = queries(client, "/distributions/")
    for index in range(20):
        services.distribution_create(
            project=project,
            fields={
                "name": f"More {index}",
                "trigger": {
                    "key": "order_paid",
                    "params": {"validation_rule": showcase.live.trigger_params["validation_rule"]},
                },
                "action": {"key": "publish_codes", "params": {"campaign": showcase.campaign.public_id}},
                "channels": [{"kind": "email", "template": {"subject": "Hi", "body": "Hello"}}],
            },
        )

    assert queries(client, "/distributions/") == few


# --- The distribution page -------------------------------------------------------------------------


def test_details_say_the_conditions_time_frame_channels_and_who_created_and_edited_it(
    showcase, owner, project
):
    with time_machine.travel(datetime(2030, 5, 1, 12, 0, tzinfo=UTC), tick=False):
        services.distribution_update(
            project=project,
            distribution=showcase.live,
            fields={"live_until": datetime(2030, 6, 1, tzinfo=UTC)},
            by=owner,
        )

    html = signed_in(owner).get(f"/distributions/{showcase.live.public_id}/").content.decode()

    assert "<dt>Validation rule</dt><dd>Order paid over $99</dd>" in html
    assert "<dt>Campaign</dt><dd>Black Friday 20% off</dd>" in html
    assert "Counts events until Jun 1, 2030 00:00" in html
    assert "Thanks, {{customer.name}}: 20% off your next order" in html
    assert "by marketer@acme.test</dd>" in html  # created
    assert "<dt>Last edited</dt><dd>May 1, 2030 12:00 by owner@acme.test</dd>" in html


def test_the_audience_tab_counts_messages_per_state_and_says_why_customers_were_skipped(
    showcase, owner, project
):
    Message.objects.for_project(project).filter(
        stream__public_id=showcase.sent.stream_public_id, state="failed"
    ).update(state="skipped", last_error="no_email")
    page = f"/distributions/{showcase.sent.public_id}/"

    html = signed_in(owner).get(page, {"tab": "audience"}).content.decode()

    assert ">New customers</a> when it sent." in html
    sent = Message.objects.for_project(project).filter(stream__public_id=showcase.sent.stream_public_id)
    row = (
        f'<td>Email</td><td class="num">0</td><td class="num">{sent.filter(state="sent").count()}</td>'
        f'<td class="num">0</td><td class="num">{sent.filter(state="skipped").count()}</td>'
    )
    assert row in html
    assert (
        f'<td>email</td><td>no_email</td><td class="num">{sent.filter(state="skipped").count()}</td>' in html
    )


def test_the_audience_of_a_scheduled_send_is_counted_before_it_goes(showcase, owner):
    html = (
        signed_in(owner)
        .get(f"/distributions/{showcase.scheduled.public_id}/", {"tab": "audience"})
        .content.decode()
    )

    assert "<dt>Audience now</dt><dd>12 customers</dd>" in html


@pytest.mark.parametrize("chosen", ["24h", "7d", "30d", "all"])
def test_the_analytics_range_picker_marks_the_range_and_draws_each_channel(showcase, owner, chosen):
    html = (
        signed_in(owner)
        .get(f"/distributions/{showcase.live.public_id}/", {"tab": "analytics", "range": chosen})
        .content.decode()
    )

    assert f'href="?tab=analytics&amp;range={chosen}" aria-current="page"' in html
    assert 'id="chart-email"' in html and 'id="chart-webhook"' in html
    assert '<span class="stat-value">10</span><span class="stat-label">Codes published</span>' in html


def test_the_activity_tab_polls_its_newest_lines_and_filters_by_kind_and_time(showcase, owner, project):
    client = signed_in(owner)
    page = f"/distributions/{showcase.live.public_id}/"

    full = client.get(page, {"tab": "activity"}).content.decode()
    lines = client.get(page, {"tab": "activity", "part": "activity", "kind": "live"}, **HTMX).content.decode()
    with time_machine.travel(timezone_now() + timedelta(days=2), tick=False):
        last_day = client.get(page, {"tab": "activity", "kind": "live", "range": "24h"}).content.decode()

    assert 'hx-trigger="every 5s"' in full
    assert lines.lstrip().startswith('<div id="activity-lines"')
    assert "<strong>Set live</strong>" in lines and "<strong>Created</strong>" not in lines
    assert "No activity of this kind in this range" in last_day


def timezone_now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def test_the_page_header_polls_while_scheduled_and_its_partial_is_the_status(showcase, owner):
    client = signed_in(owner)
    page = f"/distributions/{showcase.scheduled.public_id}/"

    html = client.get(page).content.decode()
    status = client.get(page, {"part": "status"}, **HTMX).content.decode()

    assert f'hx-get="{page}?part=status" hx-trigger="every 3s"' in html
    assert status.lstrip().startswith('<div id="distribution-status"') and ">Scheduled</span>" in status


def test_a_flash_message_shows_as_a_toast(showcase, marketer):
    response = signed_in(marketer).post(f"/distributions/{showcase.live.public_id}/pause/", follow=True)

    html = response.content.decode()
    toasts = html[html.index('id="toasts"') :]
    assert (
        '<div class="toast"><div class="alert alert-success" role="status">'
        "“Thank you for your order” paused.</div>"
    ) in toasts


# --- The campaign page -----------------------------------------------------------------------------


def test_the_campaign_page_shows_each_distribution_state_channels_and_results(showcase, owner):
    html = signed_in(owner).get(f"/campaigns/{showcase.campaign.public_id}/").content.decode()

    section = html[html.index('id="campaign-distributions"') :]
    assert ">Thank you for your order</a>" in section and ">Live</span>" in section
    assert 'aria-label="Email"' in section and 'aria-label="Webhook"' in section
    delivered = Message.objects.filter(stream__public_id=showcase.live.stream_public_id, state="sent").count()
    assert f'<td class="num">10</td>\n          <td class="num">{delivered}</td>' in section


def test_the_campaign_page_costs_the_same_queries_for_one_or_six_distributions(showcase, owner, project):
    client = signed_in(owner)
    client.get("/")
    url = f"/campaigns/{showcase.campaign.public_id}/"
    one = queries(client, url)
    for index in range(5):
        services.distribution_create(
            project=project,
            fields={
                "name": f"Also {index}",
                "trigger": {"key": "order_paid"},
                "action": {"key": "publish_codes", "params": {"campaign": showcase.campaign.public_id}},
                "channels": [{"kind": "email", "template": {"subject": "Hi", "body": "Hello"}}],
            },
        )

    assert queries(client, url) == one


# --- Roles -----------------------------------------------------------------------------------------

# The only forms a viewer's pages may hold: switching project and logging out.
HARMLESS_FORMS = ('action="/projects/switch/"', 'action="/logout/"')


def post_forms(html: str) -> list[str]:
    forms = re.findall(r'<form[^>]*method="post"[^>]*>', html)
    return [form for form in forms if not any(harmless in form for harmless in HARMLESS_FORMS)]


def test_a_viewer_sees_every_page_without_a_control_that_changes_anything(showcase, viewer):
    client = signed_in(viewer)
    live = f"/distributions/{showcase.live.public_id}/"
    pages = [
        "/distributions/",
        live,
        *(f"{live}?tab={tab}" for tab in ("audience", "analytics", "activity")),
        f"/campaigns/{showcase.campaign.public_id}/",
        "/segments/",
        f"/segments/{showcase.segment.public_id}/",
    ]

    for url in pages:
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert post_forms(html) == [], url
        assert "hx-post" not in html, url
        for label in (">Edit<", ">Delete<", ">Pause<", ">Resume<", "Save &amp; Send", "New segment"):
            assert label not in html, (url, label)


def test_the_server_refuses_a_viewer_every_distribution_and_segment_write(showcase, viewer):
    client = signed_in(viewer)
    live, draft, scheduled = (showcase.live.public_id, showcase.draft.public_id, showcase.scheduled.public_id)
    segment = showcase.segment.public_id

    with nothing_changes(), no_segment_changes():
        responses = {
            "send": client.post(f"/distributions/{draft}/send/"),
            "pause": client.post(f"/distributions/{live}/pause/", **HTMX),
            "resume": client.post(f"/distributions/{showcase.paused.public_id}/resume/"),
            "cancel": client.post(f"/distributions/{scheduled}/cancel/"),
            "delete": client.post(f"/distributions/{live}/delete/", **HTMX),
            "edit": client.post(f"/distributions/{draft}/edit/", {"name": "x"}),
            "segment new": client.post("/segments/new/", {"name": "x", "type": "static"}),
            "segment edit": client.post(f"/segments/{segment}/edit/", {"name": "x"}),
            "segment resync": client.post(f"/segments/{segment}/resync/"),
            "segment delete": client.post(f"/segments/{segment}/delete/"),
        }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 403)


def test_a_marketer_neither_sees_nor_uses_api_keys_or_member_management(marketer, owner, project):
    client = signed_in(marketer)

    home = client.get("/").content.decode()
    members = client.get("/members/").content.decode()
    refused = [
        client.get("/api-keys/").status_code,
        client.post("/api-keys/new/", {"name": "Mine"}).status_code,
        client.post("/members/add/", {"email": "friend@acme.test", "role": "admin"}).status_code,
    ]

    assert 'href="/api-keys/"' not in home
    assert "Add a member" not in members and post_forms(members) == []
    assert refused == [403, 403, 403]
    assert project.api_keys.count() == 0 and project.memberships.count() == 2


def test_the_audience_of_an_automatic_distribution_is_said_by_its_trigger_conditions_only(showcase, owner):
    html = (
        signed_in(owner)
        .get(f"/distributions/{showcase.live.public_id}/", {"tab": "audience"})
        .content.decode()
    )

    assert (
        "Each customer whose event matches the trigger (order paid), "
        "where validation rule is “Order paid over $99”.</p>"
    ) in html


# --- Progress of long work elsewhere --------------------------------------------------------------


def test_a_syncing_segment_shows_its_progress_and_polls_until_synced(showcase, owner, project):
    from segments.models import Segment

    Segment.objects.for_project(project).filter(pk=showcase.segment.pk).update(
        status="syncing", sync_progress=40
    )
    client = signed_in(owner)
    page = f"/segments/{showcase.segment.public_id}/"

    html = client.get(page).content.decode()
    Segment.objects.for_project(project).filter(pk=showcase.segment.pk).update(
        status="synced", sync_progress=100
    )
    badge = client.get(page, {"part": "sync"}, **HTMX).content.decode()

    assert f'hx-get="{page}?part=sync" hx-trigger="every 2s"' in html
    assert '<progress max="100" value="40"' in html and "syncing 40%" in html
    assert 'data-sync="synced"' in badge and "hx-trigger" not in badge


def test_codes_being_generated_climb_in_place_on_the_campaign_page(showcase, owner, project):
    from campaigns.models import Campaign

    Campaign.objects.for_project(project).filter(pk=showcase.campaign.pk).update(
        creation_status="IN_PROGRESS"
    )
    client = signed_in(owner)
    page = f"/campaigns/{showcase.campaign.public_id}/"

    html = client.get(page).content.decode()
    counts = client.get(page, {"part": "counts"}, **HTMX).content.decode()

    assert f'hx-get="{page}?part=counts" hx-trigger="every 2s"' in html
    assert counts.lstrip().startswith('<div class="stats" id="campaign-counts"')
    assert '<div class="stat-value">40</div><div class="stat-label">Codes generated' in counts
    assert "generating…" in counts
