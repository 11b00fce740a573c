"""The official `voucherify` SDK (6.1.1) driving segments on a live server: create, get and delete
parse into the SDK's typed models (its enums on `type`, `object` and `initial_sync_status`)."""

from __future__ import annotations

import pytest
import voucherify
from voucherify.exceptions import BadRequestException, NotFoundException
from voucherify.models import (
    CustomersSegmentsListResponseBody,
    SegmentsCreateRequestBody,
    SegmentsCreateResponseBody,
    SegmentsGetResponseBody,
)

from customers.models import Customer
from segments.models import Segment
from tests.factories import ProjectFactory, make_api_key
from tests.segments.support import make_customer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def project():
    return ProjectFactory(slug="sdk-segments")


@pytest.fixture
def segments(live_server, project) -> voucherify.SegmentsApi:
    api_key, token = make_api_key(project)
    configuration = voucherify.Configuration(
        host=live_server.url, api_key={"X-App-Id": api_key.app_id, "X-App-Token": token}
    )
    return voucherify.SegmentsApi(voucherify.ApiClient(configuration))


def test_the_sdk_creates_gets_and_deletes_a_filter_segment(segments, project):
    gold = {"junction": "and", "metadata.club_level": {"conditions": {"$in": ["Gold", "Silver"]}}}

    created = segments.create_segment(
        SegmentsCreateRequestBody(name="Gold club", type="auto-update", filter=gold)
    )

    assert isinstance(created, SegmentsCreateResponseBody)
    assert created.id.startswith("seg_")
    assert (created.name, created.type, created.object) == ("Gold club", "auto-update", "segment")
    assert created.initial_sync_status == "IN_PROGRESS"
    assert created.filter == gold
    assert created.created_at is not None

    fetched = segments.get_segment(created.id)

    assert isinstance(fetched, SegmentsGetResponseBody)
    assert (fetched.id, fetched.type, fetched.filter) == (created.id, "auto-update", gold)

    assert segments.delete_segment(created.id) is None
    assert not Segment.objects.for_project(project).filter(public_id=created.id).exists()
    with pytest.raises(NotFoundException):
        segments.get_segment(created.id)


def test_the_sdk_creates_a_static_segment_of_customers(segments, project):
    ada = make_customer(project, "ada")

    created = segments.create_segment(
        SegmentsCreateRequestBody(name="VIPs", type="static", customers=[ada.public_id])
    )

    assert (created.type, created.initial_sync_status, created.filter) == ("static", "DONE", None)
    assert Customer.objects.for_project(project).count() == 1


def test_the_sdk_sees_bad_filters_as_bad_requests(segments):
    with pytest.raises(BadRequestException) as refused:
        segments.create_segment(
            SegmentsCreateRequestBody(
                name="X", type="passive", filter={"name": {"conditions": {"$more_than": [3]}}}
            )
        )

    assert "$more_than" in refused.value.body


def test_the_sdk_lists_a_customers_segments(live_server, segments, project):
    ada = make_customer(project, "ada")
    created = segments.create_segment(
        SegmentsCreateRequestBody(name="VIPs", type="static", customers=["ada"])
    )
    customers = voucherify.CustomersApi(segments.api_client)

    listed = customers.list_customer_segments(ada.public_id)

    assert isinstance(listed, CustomersSegmentsListResponseBody)
    assert (listed.object, listed.data_ref, listed.total) == ("list", "data", 1)
    assert [(item.id, item.name, item.object) for item in listed.data] == [(created.id, "VIPs", "segment")]
