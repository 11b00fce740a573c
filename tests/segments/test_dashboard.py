"""The dashboard's segment pages: list with sync badges, the segment page, the new-segment form with
its estimated count, CSV upload to a static segment; read-only roles and outsiders kept out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from segments.models import Segment
from segments.services import segment_create
from tests.dashboard.conftest import signed_in
from tests.segments.support import make_customer, members, nothing_changes

pytestmark = pytest.mark.django_db

GOLD = {"metadata.level": {"conditions": {"$is": ["gold"]}}}


@pytest.fixture
def gold(project):
    make_customer(project, "ada", metadata={"level": "gold"}, email="ada@example.com")
    make_customer(project, "bob", metadata={"level": "silver"})
    return segment_create(project=project, name="Gold club", type="auto-update", filter=GOLD)


def test_the_list_shows_type_members_and_a_live_sync_badge(owner, gold):
    page = signed_in(owner).get("/segments/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Gold club" in html and "auto-update" in html
    assert "syncing 0%" in html
    assert 'hx-trigger="every 2s"' in html  # polls while something syncs
    fragment = signed_in(owner).get("/segments/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "Gold club" in fragment


def test_the_segment_page_describes_the_filter_in_words(owner, gold):
    html = signed_in(owner).get(f"/segments/{gold.public_id}/").content.decode()

    assert "metadata.level is gold" in html
    assert "customer.segment.entered" in html


def test_the_new_segment_form_estimates_and_creates(marketer, project, gold):
    client = signed_in(marketer)
    form = {
        "name": "Silver",
        "type": "passive",
        "junction": "and",
        "field_0": "metadata.",
        "key_0": "level",
        "operator_0": "$in",
        "value_0": "silver, bronze",
        "reentry_cooldown_seconds": "0",
    }

    estimate = client.post("/segments/estimate/", form, HTTP_HX_REQUEST="true").content.decode()
    assert "About <strong>1</strong> customer match now" in estimate

    response = client.post("/segments/new/", form)

    segment = Segment.objects.for_project(project).get(name="Silver")
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.public_id}/"
    assert segment.filter == {
        "junction": "and",
        "metadata.level": {"conditions": {"$in": ["silver", "bronze"]}},
    }


def test_the_form_builds_loyalty_and_redemption_conditions_from_rows(marketer, project, gold):
    form = {
        "name": "Loyal redeemers",
        "type": "auto-update",
        "junction": "or",
        "field_0": "loyalty_points.",
        "key_0": "Demo Rewards",
        "operator_0": "$more_than_equal",
        "value_0": "500",
        "field_1": "loyalty_tier.",
        "key_1": "Demo Rewards",
        "operator_1": "$in",
        "value_1": "ltr_gold, ltr_silver",
        "field_2": "summary.redemptions.total_redeemed",
        "operator_2": "$more_than",
        "value_2": "2",
        "reentry_cooldown_seconds": "0",
    }

    response = signed_in(marketer).post("/segments/new/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Segment.objects.for_project(project).get(name="Loyal redeemers").filter == {
        "junction": "or",
        "loyalty_points.campaigns.Demo Rewards.points": {"conditions": {"$more_than_equal": [500]}},
        "loyalty_tier.campaigns.Demo Rewards.tier": {"conditions": {"$in": ["ltr_gold", "ltr_silver"]}},
        "summary.redemptions.total_redeemed": {"conditions": {"$more_than": [2]}},
    }


def test_a_bad_filter_in_the_form_names_the_field_and_creates_nothing(marketer, project, gold):
    with nothing_changes():
        response = signed_in(marketer).post(
            "/segments/new/",
            {"name": "X", "type": "passive", "field_0": "name", "operator_0": "$more_than", "value_0": "3"},
        )

    assert response.status_code == 200
    assert "name $more_than: is not an operator of this field" in response.content.decode()


def test_a_csv_fills_a_static_segment(marketer, project, gold):
    vips = segment_create(project=project, name="VIPs", type="static")
    upload = SimpleUploadedFile("vips.csv", b"source_id\nada\nbob\n", content_type="text/csv")

    response = signed_in(marketer).post(f"/segments/{vips.public_id}/upload/", {"file": upload})

    assert response.status_code == 302
    assert members(project, vips) == {"ada", "bob"}


def test_a_viewer_cannot_write_and_an_outsider_cannot_see(viewer, outsider, gold):
    with nothing_changes():
        assert signed_in(viewer).post(f"/segments/{gold.public_id}/delete/").status_code == 403
        assert signed_in(viewer).get(f"/segments/{gold.public_id}/").status_code == 200
        assert signed_in(outsider).get(f"/segments/{gold.public_id}/").status_code == 404
        assert signed_in(outsider).post(f"/segments/{gold.public_id}/delete/").status_code == 404
    assert "Gold club" not in signed_in(outsider).get("/segments/").content.decode()


def test_the_segment_page_shows_members_over_time_and_its_syncs(owner, project, gold):
    from segments import sync
    from segments.history import segment_sizes_record
    from segments.models import SegmentSyncJob

    segment_sizes_record(now=timezone.now() - timedelta(hours=2))  # before the sync: 0 members
    sync.sync_job_run(SegmentSyncJob.objects.for_project(project).get(segment=gold).pk)
    segment_sizes_record(now=timezone.now() - timedelta(hours=1))  # after it: 1

    html = signed_in(owner).get(f"/segments/{gold.public_id}/").content.decode()

    chart = html[html.index('id="segment-size-history"') : html.index('id="segment-syncs"')]
    points = re.search(r'<polyline points="([^"]+)"', chart).group(1).split()
    heights = [float(point.split(",")[1]) for point in points]
    assert len(points) == 3  # two samples and now
    assert heights[0] > heights[1] == heights[2]  # from none to ada, who is still a member
    assert "1 member now; 2 hourly samples before" in chart
    assert '<td class="num">1</td>' in html  # ada, after the baseline sync
    assert "ada@example.com" in html


def test_editing_the_filter_re_syncs_and_renaming_alone_does_not(marketer, project, gold):
    from segments.models import SegmentSyncJob

    client = signed_in(marketer)
    edit = f"/segments/{gold.public_id}/edit/"
    assert "metadata.level" in client.get(edit).content.decode()  # the filter, as JSON

    client.post(
        edit,
        {
            "name": "Gold members",
            "filter_json": '{"metadata.level": {"conditions": {"$is": ["gold"]}}}',
            "reentry_cooldown_seconds": "60",
        },
    )
    gold.refresh_from_db()
    assert (gold.name, gold.filter_version, gold.reentry_cooldown_seconds) == ("Gold members", 1, 60)

    silver = '{"metadata.level": {"conditions": {"$is": ["silver"]}}}'
    response = client.post(edit, {"name": "Silver", "filter_json": silver, "reentry_cooldown_seconds": "0"})

    assert response.status_code == 302
    gold.refresh_from_db()
    assert (gold.name, gold.filter_version) == ("Silver", 2)
    assert SegmentSyncJob.objects.for_project(project).filter(segment=gold, status="pending").count() == 1
