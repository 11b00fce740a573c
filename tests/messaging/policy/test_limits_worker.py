"""The operator approves a trial project's unlock request: held messages go out through a real worker
to a real receiver; messages held for more than 7 days fail instead."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging.delivery import messages_deliver
from messaging.limits import EXPIRED_REASON, unlock_request_create
from messaging.models import Message, MessageLimitUnlockRequest
from tests.dashboard.conftest import signed_in
from tests.factories import UserFactory
from tests.messaging.test_delivery_worker import running_worker
from tests.support.messaging import customers, enqueue, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_approval_releases_held_messages_and_they_go_out(local_project, stream, template, receiver, owner):
    project = local_project
    project.message_limit_per_day, project.message_limit_per_month = 0, 100
    project.company_name, project.company_address = "Acme Ltd", "1 Main St, Springfield"
    project.save()
    people = customers(project, 4)

    def deliver(messages):
        return messages_deliver(project=project, channel="webhook", message_ids=[m.pk for m in messages])

    with time_machine.travel(timezone.now() - timedelta(days=8)):
        assert deliver(enqueue(project, stream, template, people[:1], cause_key="old")).blocked_limit == 1
    held = enqueue(project, stream, template, people[1:], cause_key="new")
    assert deliver(held).blocked_limit == 3
    assert receiver.requests == []

    request = unlock_request_create(project=project, requested_by=owner)
    staff = UserFactory(username="ops@operator.test", is_staff=True)
    with running_worker():
        response = signed_in(staff).post(f"/operator/unlock-requests/{request.pk}/approve")
        assert response.status_code == 302
        receiver.wait_for(3, timeout=30)
        wait_until(
            lambda: Message.objects.for_project(project).filter(cause_key="new", state="sent").count() == 3,
            what="the released messages recorded as sent",
        )

    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(m.public_id for m in held)
    old = Message.objects.for_project(project).get(cause_key="old")
    assert (old.state, old.last_error) == (Message.State.FAILED, EXPIRED_REASON)
    request.refresh_from_db()
    project.refresh_from_db()
    assert (request.state, request.released, request.expired, request.decided_by) == ("approved", 3, 1, staff)
    assert project.message_limit_per_day is None and project.message_limit_per_month is None
    assert MessageLimitUnlockRequest.objects.for_project(project).filter(state="pending").count() == 0
