"""POST /v1/publications, its GET variant and the list: publishing codes to customers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Publication, Voucher
from customers.models import Customer
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.support import nothing_changes
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _publish(api, source_id="c1", campaign="Summer", **extra):
    body = {"customer": {"source_id": source_id}, "campaign": {"name": campaign}, **extra}
    return api.post("/v1/publications", body, format="json")


def _events(project):
    return list(DomainEvent.objects.for_project(project).filter(type="customer.publication.succeeded"))


def test_publish_one_code_upserts_the_customer_and_returns_the_publication(api, project):
    campaign = make_campaign(project, name="Summer", codes_count=5)

    response = _publish(api, channel="my-shop", metadata={"origin": "checkout"})

    assert response.status_code == 200, response.content
    body = response.json()
    customer = Customer.objects.for_project(project).get(source_id="c1")
    publication = Publication.objects.for_project(project).get()
    assert body["id"] == publication.public_id and body["id"].startswith("pub_")
    assert (body["object"], body["channel"], body["result"]) == ("publication", "API", "SUCCESS")
    assert (body["customer_id"], body["tracking_id"]) == (customer.public_id, "c1")
    assert body["metadata"] == {"origin": "checkout"}
    assert body["voucher"]["code"] == publication.voucher.code
    assert body["voucher"]["holder_id"] == customer.public_id
    assert body["vouchers"] == [publication.voucher.code]
    assert body["vouchers_id"] == [publication.voucher.public_id]
    assert publication.channel == "my-shop"  # stored; the response always says "API"
    events = _events(project)
    assert len(events) == 1
    assert events[0].customer_id == customer.pk
    assert events[0].refs == {
        "campaign": campaign.public_id,
        "voucher": publication.voucher.public_id,
        "publication": publication.public_id,
    }
    assert events[0].cause["channel"] == "API"


def test_publish_several_codes_to_one_customer(api, project):
    make_campaign(project, name="Summer", codes_count=5)

    response = api.post(
        "/v1/publications",
        {"customer": {"source_id": "c2"}, "campaign": {"name": "Summer", "count": 3}},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["vouchers"]) == 3 and len(set(body["vouchers"])) == 3
    held = Publication.objects.for_project(project).filter(customer__source_id="c2")
    assert sorted(p.voucher.code for p in held) == sorted(body["vouchers"])
    assert len([e for e in _events(project) if e.data["voucher_code"] in body["vouchers"]]) == 3


def test_the_same_source_id_returns_the_same_publication(api, project):
    make_campaign(project, name="Summer", codes_count=5)

    first = api.post(
        "/v1/publications",
        {"customer": {"source_id": "c1"}, "campaign": {"name": "Summer"}, "source_id": "order-1"},
        format="json",
    )
    with nothing_changes():
        again = api.post(
            "/v1/publications",
            {"customer": {"source_id": "c1"}, "campaign": {"name": "Summer"}, "source_id": "order-1"},
            format="json",
        )

    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["vouchers"] == first.json()["vouchers"]
    assert len(_events(project)) == 1


def test_join_once_returns_the_code_the_customer_already_holds(api, project):
    make_campaign(project, name="Summer", codes_count=5)
    first = _publish(api)

    with nothing_changes():
        again = api.post(
            "/v1/publications?join_once=true",
            {"customer": {"source_id": "c1"}, "campaign": {"name": "Summer"}},
            format="json",
        )

    assert again.status_code == 200
    assert again.json()["voucher"]["code"] == first.json()["voucher"]["code"]


def test_a_join_once_campaign_gives_each_customer_one_code(api, project):
    make_campaign(project, name="Summer", codes_count=5, join_once=True)

    first = _publish(api)
    again = _publish(api)
    other = _publish(api, source_id="c2")

    assert again.json()["vouchers"] == first.json()["vouchers"]
    assert other.json()["vouchers"] != first.json()["vouchers"]
    assert Publication.objects.for_project(project).count() == 2


def test_an_exhausted_campaign_refuses_and_changes_nothing(api, project):
    make_campaign(project, name="Summer", codes_count=1)
    _publish(api, source_id="c1")

    with nothing_changes():
        response = _publish(api, source_id="c2")

    assert_error(
        response,
        400,
        "no_voucher_suitable_for_publication",
        details="Campaign Summer has no unpublished codes left.",
    )


def test_asking_for_more_codes_than_left_publishes_none(api, project):
    make_campaign(project, name="Summer", codes_count=2)

    with nothing_changes():
        response = api.post(
            "/v1/publications",
            {"customer": {"source_id": "c9"}, "campaign": {"name": "Summer", "count": 3}},
            format="json",
        )

    assert_error(response, 400, "no_voucher_suitable_for_publication")


def test_an_auto_update_campaign_grows_when_exhausted(api, project):
    make_campaign(project, name="Summer", codes_count=1, type="AUTO_UPDATE")

    first = _publish(api, source_id="c1")
    second = _publish(api, source_id="c2")

    assert first.status_code == second.status_code == 200
    assert first.json()["vouchers"] != second.json()["vouchers"]
    assert Campaign.objects.for_project(project).get().vouchers_count == 2


def test_publish_a_specific_code_and_refuse_it_a_second_time(api, project):
    make_campaign(project, name="Summer", codes_count=2)
    code = Voucher.objects.for_project(project).order_by("sequence").last().code

    first = api.post("/v1/publications", {"customer": {"source_id": "c1"}, "voucher": code}, format="json")
    with nothing_changes():
        second = api.post(
            "/v1/publications", {"customer": {"source_id": "c2"}, "voucher": code}, format="json"
        )

    assert first.status_code == 200 and first.json()["voucher"]["code"] == code
    assert_error(second, 400, "voucher_already_published", details=f"Voucher {code} is already published.")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"active": False}, "campaign_disabled"),
        ({"expiration_date": timezone.now() - timedelta(days=1)}, "campaign_expired"),
        ({"start_date": timezone.now() + timedelta(days=1)}, "campaign_not_active"),
    ],
)
def test_a_disabled_expired_or_future_campaign_refuses_and_changes_nothing(api, project, change, key):
    campaign = make_campaign(project, name="Summer", codes_count=2)
    Campaign.objects.for_project(project).filter(pk=campaign.pk).update(**change)

    with nothing_changes():
        response = _publish(api)

    assert_error(response, 400, key)


def test_a_disabled_code_refuses(api, project):
    make_campaign(project, name="Summer", codes_count=1)
    voucher = Voucher.objects.for_project(project).get()
    Voucher.objects.for_project(project).filter(pk=voucher.pk).update(active=False)

    with nothing_changes():
        response = api.post(
            "/v1/publications", {"customer": {"source_id": "c1"}, "voucher": voucher.code}, format="json"
        )

    assert_error(response, 400, "voucher_disabled")


@pytest.mark.parametrize(
    ("body", "status", "key"),
    [
        ({"customer": {"source_id": "c1"}, "campaign": {"name": "Nope"}}, 404, "not_found"),
        ({"customer": {"source_id": "c1"}, "voucher": "NOPE"}, 404, "not_found"),
        (
            {"customer": {"source_id": "c1"}, "campaign": {"name": "Summer", "count": 51}},
            400,
            "invalid_payload",
        ),
        (
            {"customer": {"source_id": "c1"}, "campaign": {"name": "Summer", "count": 1.0}},
            400,
            "invalid_payload",
        ),
        ({"customer": {"source_id": "c1"}}, 400, "invalid_payload"),
        (
            {"customer": {"source_id": "c1"}, "campaign": {"name": "Summer"}, "extra": 1},
            400,
            "invalid_payload",
        ),
        ({"campaign": {"name": "Summer"}}, 400, "invalid_payload"),
    ],
)
def test_bad_publication_requests_change_nothing(api, project, body, status, key):
    make_campaign(project, name="Summer", codes_count=2)

    with nothing_changes():
        response = api.post("/v1/publications", body, format="json")

    assert_error(response, status, key)


def test_get_variant_reads_the_deep_object_query(api, project):
    make_campaign(project, name="Summer", codes_count=3)

    response = api.get(
        "/v1/publications/create?customer[source_id]=c7&customer[email]=c7@example.com"
        "&campaign[name]=Summer&campaign[count]=2&source_id=s-1&metadata[k]=v"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["vouchers"]) == 2 and body["source_id"] == "s-1" and body["metadata"] == {"k": "v"}
    assert Customer.objects.for_project(project).get(source_id="c7").email == "c7@example.com"


def test_list_publications_filters_and_pins_its_queries(api, project, django_assert_num_queries):
    make_campaign(project, name="Summer", codes_count=5)
    make_campaign(project, name="Winter", codes_count=5)
    for source_id in ("a", "b"):
        _publish(api, source_id=source_id)
    _publish(api, source_id="a", campaign="Winter")

    with django_assert_num_queries(3):  # api key, page, campaign lookup
        response = api.get("/v1/publications?campaign=Summer")
    by_customer = api.get("/v1/publications?customer=a").json()

    body = response.json()
    assert (body["object"], body["data_ref"], body["total"]) == ("list", "publications", 2)
    assert {p["customer"]["source_id"] for p in body["publications"]} == {"a", "b"}
    assert all(
        p["channel"] == "API" and p["result"] == "SUCCESS" and len(p["vouchers"]) == 1
        for p in body["publications"]
    )
    assert by_customer["total"] == 2


def test_refused_customer_upsert_rolls_back_with_the_publication(api, project):
    make_campaign(project, name="Summer", codes_count=0)
    CustomerFactory(project=project, source_id="existing")

    with nothing_changes():
        response = api.post(
            "/v1/publications",
            {"customer": {"source_id": "brand-new", "name": "N"}, "campaign": {"name": "Summer"}},
            format="json",
        )

    assert_error(response, 400, "no_voucher_suitable_for_publication")
