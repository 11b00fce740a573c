"""The dashboard's distribution list and page: filters, status and sending dates, tabs, actions by role."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from distributions import tasks
from distributions.models import Distribution, DistributionActivity
from tests.campaigns.factories import make_campaign
from tests.dashboard.conftest import signed_in
from tests.distributions.support import automatic_order_paid, manual_publish_codes, nothing_changes
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="/distributions/(distr_[0-9a-f]+)/"')
START = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def listed(response) -> list[str]:
    return list(dict.fromkeys(LINK.findall(response.content.decode())))


@pytest.fixture
def three(api, project):
    """A draft, a live automatic one and a manual one that started sending."""
    CustomerFactory(project=project, source_id="ada")
    make_campaign(project, name="Summer", codes_count=2)
    with time_machine.travel(START, tick=False) as clock:
        draft = api.post("/v1/distributions", {"name": "Draft newsletter"}, format="json").json()
        clock.shift(timedelta(minutes=1))
        live = api.post("/v1/distributions", automatic_order_paid(), format="json").json()
        api.post(f"/v1/distributions/{live['id']}/send")
        clock.shift(timedelta(minutes=1))
        manual = api.post("/v1/distributions", manual_publish_codes("ada", "Summer"), format="json").json()
        api.post(f"/v1/distributions/{manual['id']}/send")
        clock.shift(timedelta(minutes=10))
        tasks.claim_due_distributions()
    return {"draft": draft["id"], "live": live["id"], "manual": manual["id"]}


def test_the_list_shows_status_and_sending_dates_newest_first(three, owner):
    response = signed_in(owner).get("/distributions/")

    assert response.status_code == 200
    assert listed(response) == [three["manual"], three["live"], three["draft"]]
    html = response.content.decode()
    for label in ("Draft", "Live", "Sending"):
        assert f">{label}</span>" in html
    assert "Sending May 1, 2030 12:12" in html
    assert "Started sending May 1, 2030 12:12" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "live"}, ["live"]),
        ({"status": "draft"}, ["draft"]),
        ({"q": "newsletter"}, ["draft"]),
        ({"category": "cart"}, ["live"]),
        ({"category": "manual"}, ["manual"]),
    ],
)
def test_the_list_filters(three, owner, query, expected):
    response = signed_in(owner).get("/distributions/", query)

    assert listed(response) == [three[name] for name in expected]


def test_archived_distributions_leave_the_list(three, owner, project):
    client = signed_in(owner)

    response = client.post(f"/distributions/{three['draft']}/delete/")

    assert response.status_code == 302
    assert Distribution.objects.for_project(project).get(public_id=three["draft"]).status == "archived"
    assert three["draft"] not in listed(client.get("/distributions/"))


def test_the_page_has_details_audience_analytics_and_activity_tabs(three, owner):
    client = signed_in(owner)
    page = f"/distributions/{three['manual']}/"

    details = client.get(page).content.decode()
    audience = client.get(page, {"tab": "audience"}).content.decode()
    analytics = client.get(page, {"tab": "analytics"}).content.decode()
    activity = client.get(page, {"tab": "activity"}).content.decode()

    assert "Send and publish unique codes" in details
    assert 'id="distribution-channels"' in details
    assert "One customer" in audience
    assert 'id="distribution-analytics"' in analytics
    kinds = ("Sending started", "Scheduled", "Created")
    lines = [activity.index(f"<strong>{kind}</strong>") for kind in kinds]
    assert lines == sorted(lines)


def test_a_draft_page_says_what_is_missing(three, owner):
    html = signed_in(owner).get(f"/distributions/{three['draft']}/").content.decode()

    assert "Not ready to send yet" in html
    assert "Property .trigger.key: is required" in html


def test_a_marketer_pauses_and_resumes_from_the_page(three, marketer, project):
    client = signed_in(marketer)

    client.post(f"/distributions/{three['live']}/pause/")
    paused = Distribution.objects.for_project(project).get(public_id=three["live"])
    client.post(f"/distributions/{three['live']}/resume/")

    assert paused.status == "paused"
    assert Distribution.objects.for_project(project).get(public_id=three["live"]).status == "live"
    actors = DistributionActivity.objects.for_project(project).filter(distribution=paused, kind="paused")
    assert [(a.actor, a.actor_label) for a in actors] == [(marketer, "marketer@acme.test")]


def test_a_refused_transition_shows_why_and_changes_nothing(three, owner):
    client = signed_in(owner)

    with nothing_changes():
        response = client.post(f"/distributions/{three['draft']}/send/", follow=True)

    assert "The distribution cannot be sent yet" in response.content.decode()


def test_the_edit_form_saves_the_name_and_refuses_edits_once_sending(three, owner, project):
    client = signed_in(owner)

    saved = client.post(f"/distributions/{three['live']}/edit/", {"name": "Renamed"})
    with nothing_changes():
        refused = client.post(f"/distributions/{three['manual']}/edit/", {"name": "Too late"})

    assert saved.status_code == 302
    assert Distribution.objects.for_project(project).get(public_id=three["live"]).name == "Renamed"
    assert refused.status_code == 200
    assert "has started sending and can no longer be edited" in refused.content.decode()


def test_a_viewer_reads_everything_and_changes_nothing(three, viewer):
    client = signed_in(viewer)

    page = client.get(f"/distributions/{three['live']}/")
    with nothing_changes():
        writes = [
            client.post(f"/distributions/{three['live']}/pause/"),
            client.post(f"/distributions/{three['live']}/delete/"),
            client.post(f"/distributions/{three['draft']}/edit/", {"name": "x"}),
            client.get(f"/distributions/{three['draft']}/edit/"),
        ]

    assert page.status_code == 200
    assert 'id="distribution-actions"' not in page.content.decode()
    assert ">Pause</button>" not in client.get("/distributions/").content.decode()
    assert [w.status_code for w in writes] == [403, 403, 403, 403]


def test_an_outsider_gets_404s_and_never_sees_our_distributions(three, outsider):
    client = signed_in(outsider)

    assert listed(client.get("/distributions/")) == []
    with nothing_changes():
        responses = [
            client.get(f"/distributions/{three['live']}/"),
            client.post(f"/distributions/{three['live']}/pause/"),
            client.post(f"/distributions/{three['live']}/delete/"),
        ]
    assert [r.status_code for r in responses] == [404, 404, 404]


def test_the_nav_links_to_the_distribution_list(owner, project):
    html = signed_in(owner).get("/").content.decode()

    assert 'href="/distributions/"' in html


def test_the_list_costs_the_same_queries_for_3_or_30_distributions(api, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(owner)
    client.get("/")  # the first request of a session stores the selected project

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/distributions/").status_code == 200
        return len(captured)

    for index in range(3):
        api.post("/v1/distributions", automatic_order_paid(name=f"D{index}"), format="json")
    few = queries()
    for index in range(27):
        api.post("/v1/distributions", automatic_order_paid(name=f"E{index}"), format="json")

    assert queries() == few


def test_edit_is_offered_only_where_an_edit_can_apply(three, owner):
    client = signed_in(owner)

    def offers_edit(public_id: str) -> bool:
        return (
            f'href="/distributions/{public_id}/wizard/trigger/"'
            in client.get(f"/distributions/{public_id}/").content.decode()
        )

    client.post(f"/distributions/{three['manual']}/pause/")

    assert offers_edit(three["draft"])
    assert offers_edit(three["live"])
    assert not offers_edit(three["manual"])  # paused while sending: what went out is history
