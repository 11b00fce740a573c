"""Two requests upserting the same new source_id at once end with one customer, not an error."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from customers.models import Customer
from customers.services import customer_upsert
from tests.customers.support import events_of


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_source_id_make_one_customer(project):
    first_inserted = threading.Event()
    outcome: dict[str, object] = {}

    def first_request() -> None:
        # Inserts the customer, then holds its transaction open while the second request arrives.
        try:
            with transaction.atomic():
                outcome["first"] = customer_upsert(
                    project=project, fields={"source_id": "same", "name": "First"}
                )
                first_inserted.set()
                second.join(timeout=0.5)  # the second request is now blocked on our row's unique key
        finally:
            connection.close()

    def second_request() -> None:
        try:
            first_inserted.wait(timeout=5)
            outcome["second"] = customer_upsert(
                project=project, fields={"source_id": "same", "name": "Second"}
            )
        except Exception as error:  # reported by the assertion below
            outcome["second"] = error
        finally:
            connection.close()

    second = threading.Thread(target=second_request)
    first = threading.Thread(target=first_request)
    first.start()
    second.start()
    first.join(timeout=10)
    second.join(timeout=10)

    (first_customer, first_created), second_result = outcome["first"], outcome["second"]
    assert not isinstance(second_result, Exception), second_result
    second_customer, second_created = second_result
    assert (first_created, second_created) == (True, False)
    assert second_customer.pk == first_customer.pk
    stored = Customer.objects.for_project(project).get()
    assert (stored.source_id, stored.name) == ("same", "Second")
    assert events_of(project) == [
        ("customer.created", stored.public_id),
        ("customer.updated", stored.public_id),
    ]
