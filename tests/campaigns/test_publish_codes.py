"""The distributions' bulk publication: one code per customer, idempotent per cause key."""

from __future__ import annotations

import pytest

from campaigns.models import Publication, Voucher
from campaigns.publications import PublicationRefused, publish_codes
from eventbus.cause import Cause
from eventbus.models import DomainEvent
from tests.campaigns.factories import make_campaign
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _customers(project, count):
    return [CustomerFactory(project=project).pk for _ in range(count)]


def test_publish_codes_gives_each_customer_one_distinct_code_and_one_event(project):
    campaign = make_campaign(project, codes_count=20)
    customer_ids = _customers(project, 5)

    result = publish_codes(
        project=project,
        campaign=campaign,
        customer_ids=customer_ids,
        cause_key="manual:dist_1",
        distribution_id=7,
        cause=Cause.distribution("dist_1"),
    )

    assert sorted(result) == sorted(customer_ids)
    assert len(set(result.values())) == 5
    assert result.unserved == []
    publications = Publication.objects.for_project(project)
    assert {(p.customer_id, p.voucher.code) for p in publications} == set(result.items())
    assert set(publications.values_list("distribution_id", "cause_key")) == {(7, "manual:dist_1")}
    events = DomainEvent.objects.for_project(project).filter(type="customer.publication.succeeded")
    assert sorted(e.customer_id for e in events) == sorted(customer_ids)
    assert {e.cause["distribution_id"] for e in events} == {"dist_1"}
    assert {e.data["voucher_code"] for e in events} == set(result.values())
    assert {e.refs["campaign"] for e in events} == {campaign.public_id}
    assert {e.refs["publication"] for e in events} == set(publications.values_list("public_id", flat=True))


def test_publish_codes_rerun_with_the_same_cause_returns_the_same_codes_and_publishes_nothing_new(project):
    campaign = make_campaign(project, codes_count=20)
    customer_ids = _customers(project, 4)
    arguments = dict(
        project=project,
        campaign=campaign,
        cause_key="evt_1",
        distribution_id=3,
        cause=Cause.distribution("dist_3"),
    )
    first = publish_codes(customer_ids=customer_ids, **arguments)
    events_before = DomainEvent.objects.for_project(project).count()

    again = publish_codes(customer_ids=[*customer_ids, customer_ids[0]], **arguments)

    assert dict(again) == dict(first)
    assert Publication.objects.for_project(project).count() == 4
    assert DomainEvent.objects.for_project(project).count() == events_before


def test_publish_codes_with_another_cause_key_publishes_new_codes(project):
    campaign = make_campaign(project, codes_count=20)
    customer_ids = _customers(project, 3)
    first = publish_codes(
        project=project,
        campaign=campaign,
        customer_ids=customer_ids,
        cause_key="evt_1",
        distribution_id=3,
        cause=Cause.distribution("dist_3"),
    )

    second = publish_codes(
        project=project,
        campaign=campaign,
        customer_ids=customer_ids,
        cause_key="evt_2",
        distribution_id=3,
        cause=Cause.distribution("dist_3"),
    )

    assert set(first.values()).isdisjoint(second.values())
    assert Publication.objects.for_project(project).count() == 6


def test_publish_codes_reports_customers_left_without_a_code_when_the_campaign_runs_out(project):
    campaign = make_campaign(project, codes_count=3)
    customer_ids = _customers(project, 5)

    result = publish_codes(
        project=project,
        campaign=campaign,
        customer_ids=customer_ids,
        cause_key="k",
        distribution_id=1,
        cause=Cause.distribution("dist_1"),
    )

    assert sorted(result) == sorted(customer_ids[:3])
    assert result.unserved == customer_ids[3:]
    assert Publication.objects.for_project(project).count() == 3
    assert DomainEvent.objects.for_project(project).filter(type="customer.publication.succeeded").count() == 3


def test_publish_codes_skips_codes_published_through_the_api_and_disabled_codes(project):
    campaign = make_campaign(project, codes_count=4)
    vouchers = list(Voucher.objects.for_project(project).order_by("sequence"))
    Voucher.objects.for_project(project).filter(pk=vouchers[0].pk).update(active=False)
    holder = CustomerFactory(project=project)
    Publication.objects.create(
        project=project, public_id="pub_x", voucher=vouchers[1], campaign=campaign, customer=holder
    )
    customer_ids = _customers(project, 3)

    result = publish_codes(
        project=project,
        campaign=campaign,
        customer_ids=customer_ids,
        cause_key="k",
        distribution_id=1,
        cause=Cause.distribution("dist_1"),
    )

    assert sorted(result.values()) == sorted([vouchers[2].code, vouchers[3].code])
    assert result.unserved == [customer_ids[2]]


def test_publish_codes_continues_after_the_claim_cursor_and_still_finds_codes_behind_it(project):
    campaign = make_campaign(project, codes_count=6)
    first_batch = _customers(project, 4)
    publish_codes(
        project=project,
        campaign=campaign,
        customer_ids=first_batch,
        cause_key="a",
        distribution_id=1,
        cause=Cause.distribution("dist_1"),
    )
    campaign.refresh_from_db()
    assert campaign.claim_cursor == Voucher.objects.for_project(project).order_by("sequence")[3].sequence
    # A code behind the cursor becomes available again (its publication was deleted).
    Publication.objects.for_project(project).filter(customer_id=first_batch[0]).delete()

    result = publish_codes(
        project=project,
        campaign=campaign,
        customer_ids=_customers(project, 3),
        cause_key="b",
        distribution_id=1,
        cause=Cause.distribution("dist_1"),
    )

    assert len(result) == 3 and result.unserved == []
    assert Publication.objects.for_project(project).count() == 6


def test_publish_codes_refuses_a_disabled_campaign_and_changes_nothing(project):
    campaign = make_campaign(project, codes_count=3)
    campaign.active = False
    campaign.save(update_fields=["active"])

    with pytest.raises(PublicationRefused) as refused:
        publish_codes(
            project=project,
            campaign=campaign,
            customer_ids=_customers(project, 2),
            cause_key="k",
            distribution_id=1,
            cause=Cause.distribution("dist_1"),
        )

    assert refused.value.key == "campaign_disabled"
    assert Publication.objects.for_project(project).count() == 0
    assert DomainEvent.objects.for_project(project).filter(type="customer.publication.succeeded").count() == 0


def test_publish_codes_grows_an_auto_update_campaign(project):
    campaign = make_campaign(project, codes_count=1, type="AUTO_UPDATE")

    result = publish_codes(
        project=project,
        campaign=campaign,
        customer_ids=_customers(project, 3),
        cause_key="k",
        distribution_id=1,
        cause=Cause.distribution("dist_1"),
    )

    assert len(set(result.values())) == 3 and result.unserved == []
    campaign.refresh_from_db()
    assert campaign.vouchers_count == 3


def test_events_wait_for_dispatch_only_when_a_handler_listens(project, django_capture_on_commit_callbacks):
    from eventbus.registry import handles, unregister

    campaign = make_campaign(project, codes_count=4)
    arguments = dict(
        project=project, campaign=campaign, distribution_id=1, cause=Cause.distribution("dist_1")
    )
    events = DomainEvent.objects.for_project(project).filter(type="customer.publication.succeeded")

    # Nobody handles the type (the handlers that do, distributions', set aside): written complete, no
    # dispatch task.
    from eventbus import registry

    listening = registry.handlers_for("customer.publication.succeeded")
    for handler in listening:
        unregister(handler.name)
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            publish_codes(customer_ids=_customers(project, 2), cause_key="a", **arguments)
    finally:
        for handler in listening:
            registry._handlers[handler.name] = handler
    assert callbacks == []
    assert all(event.completed_at is not None for event in events.all())

    handles("customer.publication.succeeded", name="test-listener")(lambda event: None)
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            publish_codes(customer_ids=_customers(project, 2), cause_key="b", **arguments)
    finally:
        unregister("test-listener")
    assert len(callbacks) == 1
    assert sorted(event.completed_at is None for event in events.all()) == [False, False, True, True]
