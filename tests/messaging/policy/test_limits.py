"""A trial project's message limits: counted atomically over every channel, an over-limit message is
held as `blocked_limit` with the reason, an unlock request needs the brand details, and only the
operator's staff approve it (the release itself, with a real worker, is in test_limits_worker.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from messaging.delivery import messages_deliver
from messaging.limits import (
    EXPIRED_REASON,
    blocked_by_limit_count,
    held_messages_expire,
    quota_take,
    unlock_request_approve,
    unlock_request_create,
)
from messaging.models import Message, MessageLimitUnlockRequest
from messaging.sweeps import messages_sweep
from tests.dashboard.conftest import signed_in
from tests.factories import UserFactory
from tests.support.messaging import customers, enqueue, reload

pytestmark = pytest.mark.django_db


def limited(project, per_day=10, per_month=100):
    project.message_limit_per_day, project.message_limit_per_month = per_day, per_month
    project.save(update_fields=["message_limit_per_day", "message_limit_per_month"])
    return project


def deliver(project, messages):
    return messages_deliver(project=project, channel="webhook", message_ids=[m.pk for m in messages])


def test_messages_over_the_daily_limit_are_held_with_the_reason(local_project, stream, template, receiver):
    limited(local_project, per_day=3)
    messages = enqueue(local_project, stream, template, customers(local_project, 5))

    report = deliver(local_project, messages)

    assert (report.sent, report.blocked_limit) == (3, 2)
    held = [reload(m) for m in messages[3:]]
    assert {m.state for m in held} == {Message.State.BLOCKED_LIMIT}
    assert held[0].last_error.startswith("The project's limit of 3 messages a day is reached")
    assert held[0].attempts == 0
    assert blocked_by_limit_count(local_project, stream) == 2
    receiver.wait_for(3)
    assert len(receiver.requests) == 3


def test_the_monthly_limit_holds_across_days(local_project, stream, template, receiver):
    limited(local_project, per_day=10, per_month=3)
    people = customers(local_project, 4)
    with time_machine.travel(timezone.now() - timedelta(days=1)):
        assert (
            deliver(local_project, enqueue(local_project, stream, template, people[:2], cause_key="a")).sent
            == 2
        )
    report = deliver(local_project, enqueue(local_project, stream, template, people[2:], cause_key="b"))
    assert (report.sent, report.blocked_limit) == (1, 1)
    assert (
        Message.objects.for_project(local_project)
        .get(state="blocked_limit")
        .last_error.startswith("The project's limit of 3 messages a month")
    )


def test_a_project_without_limits_is_not_counted(local_project, stream, template, receiver):
    assert local_project.message_limit_per_day is None
    report = deliver(local_project, enqueue(local_project, stream, template, customers(local_project, 12)))
    assert (report.sent, report.blocked_limit) == (12, 0)


def test_the_counter_is_atomic_under_concurrent_takers(project):
    limited(project, per_day=10)
    now = timezone.now()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: quota_take(project, now), range(40)))
    assert results.count(None) == 10


def test_an_unlock_request_needs_the_brand_details(project, owner):
    limited(project)
    with pytest.raises(ValidationError, match="company name and address"):
        unlock_request_create(project=project, requested_by=owner)
    response = signed_in(owner).post("/settings/message-limits/unlock/", follow=True)
    assert b"company name and address" in response.content
    assert not MessageLimitUnlockRequest.objects.for_project(project).exists()

    project.company_name, project.company_address = "Acme Ltd", "1 Main St, Springfield"
    project.save()
    response = signed_in(owner).post(
        "/settings/message-limits/unlock/", {"message": "Launch week"}, follow=True
    )
    assert response.status_code == 200
    request = MessageLimitUnlockRequest.objects.for_project(project).get()
    assert (request.state, request.company_name, request.message) == ("pending", "Acme Ltd", "Launch week")
    assert b"waiting for review" in signed_in(owner).get("/settings/").content


def test_only_owners_and_admins_ask(project):
    from tenancy.models import Role
    from tests.factories import MembershipFactory

    limited(project)
    project.company_name, project.company_address = "Acme Ltd", "1 Main St"
    project.save()
    viewer = MembershipFactory(
        project=project, user=UserFactory(username="v@acme.test"), role=Role.VIEWER
    ).user
    response = signed_in(viewer).post("/settings/message-limits/unlock/")
    assert response.status_code in (403, 404)
    assert not MessageLimitUnlockRequest.objects.for_project(project).exists()


def test_the_tenant_cannot_approve_its_own_request(project, owner):
    limited(project)
    project.company_name, project.company_address = "Acme Ltd", "1 Main St"
    project.save()
    request = unlock_request_create(project=project, requested_by=owner)

    response = signed_in(owner).post(f"/operator/unlock-requests/{request.pk}/approve")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert signed_in(owner).get("/operator/").status_code == 302
    with pytest.raises(PermissionError):
        unlock_request_approve(request=request, operator=owner)
    request.refresh_from_db()
    project.refresh_from_db()
    assert request.state == "pending" and project.message_limit_per_day == 10


def test_the_operator_sees_pending_requests_of_every_project(project, other_project, owner):
    for each in (project, other_project):
        limited(each)
        each.company_name, each.company_address = f"{each.name} Ltd", "Somewhere"
        each.save()
        unlock_request_create(project=each, requested_by=None)
    staff = UserFactory(username="ops@operator.test", is_staff=True)
    response = signed_in(staff).get("/operator/")
    assert response.status_code == 200
    assert b"Acme Ltd" in response.content and b"Rival Ltd" in response.content


def test_held_messages_expire_after_seven_days_in_the_sweep(local_project, stream, template, receiver):
    limited(local_project, per_day=0)
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        old = deliver(
            local_project,
            enqueue(local_project, stream, template, customers(local_project, 1), cause_key="old"),
        )
    recent = enqueue(local_project, stream, template, customers(local_project, 1), cause_key="recent")
    deliver(local_project, recent)
    assert old.blocked_limit == 1

    assert messages_sweep()["expired_held"] == 1
    expired = Message.objects.for_project(local_project).get(cause_key="old")
    assert (expired.state, expired.last_error) == (Message.State.FAILED, EXPIRED_REASON)
    assert reload(recent[0]).state == Message.State.BLOCKED_LIMIT
    assert held_messages_expire(now=timezone.now(), limit=100) == 0
