"""POST /v1/customers/bulk/async: rows checked up front, applied by a worker, reported by an async action."""

from __future__ import annotations

import re

import pytest

from customers import tasks
from customers.bulk import MAX_ROWS_PER_REQUEST
from customers.models import BulkImport, Customer
from eventbus.models import DomainEvent
from tests.api.support import assert_error, nothing_changes
from tests.customers.support import events_of
from tests.factories import CustomerFactory

ROWS = [
    {
        "source_id": "ada@example.com",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+48600100200",
        "birthdate": "1990-12-10",
        "address": {"city": "Warsaw", "country": "PL"},
        "metadata": {"club_level": "Gold"},
    },
    {"source_id": "grace@example.com", "name": "Grace Hopper", "email": "grace@example.com"},
    {"source_id": "linus@example.com", "name": "Linus"},
]


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The ids handed to the import task, instead of a real broker."""
    calls: list[int] = []
    monkeypatch.setattr(tasks.apply_bulk_import, "delay", calls.append)
    return calls


def import_and_run(api, rows, django_capture_on_commit_callbacks, enqueued) -> str:
    """Post the rows, commit (which enqueues the task), then run the task as a worker would."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/v1/customers/bulk/async", rows, format="json")
    assert response.status_code == 202, response.content
    tasks.apply_bulk_import(enqueued[-1])
    return response.json()["async_action_id"]


def test_import_is_accepted_with_an_async_action_id_and_enqueued_after_commit(
    api, project, django_capture_on_commit_callbacks, enqueued
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post("/v1/customers/bulk/async", ROWS, format="json")

    assert response.status_code == 202
    assert response["Content-Type"] == "application/json"
    async_action_id = response.json()["async_action_id"]
    assert re.fullmatch(r"aa_[0-9a-f]{24}", async_action_id)
    assert response.json() == {"async_action_id": async_action_id}
    bulk_import = BulkImport.objects.for_project(project).get(public_id=async_action_id)
    assert len(callbacks) == 1
    assert enqueued == [bulk_import.pk]
    # Nothing is applied until the worker runs.
    assert not Customer.objects.for_project(project).exists()


def test_status_is_in_progress_until_the_worker_runs(api, project, enqueued):
    async_action_id = api.post("/v1/customers/bulk/async", ROWS, format="json").json()["async_action_id"]

    response = api.get(f"/v1/async-actions/{async_action_id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["updated_at"], body["object"]) == (
        async_action_id,
        "IN_PROGRESS",
        None,
        "async_action",
    )
    assert body["result"] == {"total": 3, "created": 0, "updated": 0, "failed": 0, "errors": []}


def test_worker_applies_the_rows_and_the_action_reports_done_with_counts(
    api, project, django_capture_on_commit_callbacks, enqueued
):
    CustomerFactory(project=project, source_id="linus@example.com", name="Linus T.")

    async_action_id = import_and_run(api, ROWS, django_capture_on_commit_callbacks, enqueued)

    body = api.get(f"/v1/async-actions/{async_action_id}").json()
    assert (body["type"], body["status"]) == ("CUSTOMERS_BULK_UPDATE", "DONE")
    assert body["result"] == {"total": 3, "created": 2, "updated": 1, "failed": 0, "errors": []}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["updated_at"])
    customers = {c.source_id: c for c in Customer.objects.for_project(project)}
    assert sorted(customers) == ["ada@example.com", "grace@example.com", "linus@example.com"]
    ada = customers["ada@example.com"]
    assert (ada.name, ada.email, ada.phone, str(ada.birthdate), ada.address_city, ada.address_country) == (
        "Ada Lovelace",
        "ada@example.com",
        "+48600100200",
        "1990-12-10",
        "Warsaw",
        "PL",
    )
    assert ada.metadata == {"club_level": "Gold"}
    assert re.fullmatch(r"cust_[0-9a-f]{24}", ada.public_id)
    assert customers["linus@example.com"].name == "Linus"


def test_import_publishes_created_and_updated_events(
    api, project, django_capture_on_commit_callbacks, enqueued
):
    linus = CustomerFactory(project=project, source_id="linus@example.com", name="Linus T.")

    import_and_run(api, ROWS, django_capture_on_commit_callbacks, enqueued)

    customers = {c.source_id: c.public_id for c in Customer.objects.for_project(project)}
    assert sorted(events_of(project)) == sorted(
        [
            ("customer.created", customers["ada@example.com"]),
            ("customer.created", customers["grace@example.com"]),
            ("customer.updated", linus.public_id),
        ]
    )


def test_absent_fields_keep_their_stored_values(api, project, django_capture_on_commit_callbacks, enqueued):
    CustomerFactory(project=project, source_id="ada", name="Ada", email="ada@example.com", metadata={"a": 1})

    import_and_run(
        api, [{"source_id": "ada", "phone": "+48600100200"}], django_capture_on_commit_callbacks, enqueued
    )

    ada = Customer.objects.for_project(project).get()
    assert (ada.name, ada.email, ada.phone, ada.metadata) == (
        "Ada",
        "ada@example.com",
        "+48600100200",
        {"a": 1},
    )


def test_reimporting_the_same_rows_changes_and_publishes_nothing(
    api, project, django_capture_on_commit_callbacks, enqueued
):
    import_and_run(api, ROWS, django_capture_on_commit_callbacks, enqueued)
    customers_before = list(Customer.objects.for_project(project).order_by("pk").values())
    events_before = events_of(project)

    async_action_id = import_and_run(api, ROWS, django_capture_on_commit_callbacks, enqueued)

    assert api.get(f"/v1/async-actions/{async_action_id}").json()["result"] == {
        "total": 3,
        "created": 0,
        "updated": 0,
        "failed": 0,
        "errors": [],
    }
    assert list(Customer.objects.for_project(project).order_by("pk").values()) == customers_before
    assert events_of(project) == events_before


def test_running_the_worker_twice_applies_the_import_once(
    api, project, django_capture_on_commit_callbacks, enqueued
):
    async_action_id = import_and_run(api, ROWS, django_capture_on_commit_callbacks, enqueued)
    events_before = DomainEvent.objects.for_project(project).count()

    tasks.apply_bulk_import(enqueued[-1])

    assert DomainEvent.objects.for_project(project).count() == events_before == 3
    assert api.get(f"/v1/async-actions/{async_action_id}").json()["result"]["created"] == 3


def test_a_repeated_source_id_in_one_import_keeps_the_last_row(
    api, project, django_capture_on_commit_callbacks, enqueued
):
    rows = [{"source_id": "ada", "name": "First"}, {"source_id": "ada", "name": "Last"}]

    import_and_run(api, rows, django_capture_on_commit_callbacks, enqueued)

    assert list(Customer.objects.for_project(project).values_list("name", flat=True)) == ["Last"]


@pytest.mark.parametrize(
    ("rows", "details"),
    [
        (
            [ROWS[0], {"name": "no source id"}],
            "Property [1].source_id: is required in a bulk import",
        ),
        (
            [ROWS[0], ROWS[1], {"source_id": "x", "email": "not-an-email"}],
            "Property [2].email: must be a valid email address",
        ),
        (
            [{"source_id": "x", "phone": "call me"}],
            "Property [0].phone: must be a phone number of digits, optionally starting with +",
        ),
        ([{"source_id": "x", "shoe_size": 42}], "Property [0].shoe_size: is not allowed"),
        ([{"source_id": "x", "name": 42}], "Property [0].name: must be a string of at most 255 characters"),
        (
            [{"source_id": "x", "birthdate": "10/12/1990"}],
            "Property [0].birthdate: must be a date YYYY-MM-DD",
        ),
        ([{"source_id": "x", "metadata": ["a"]}], "Property [0].metadata: must be a JSON object"),
        (
            [{"source_id": "x", "address": {"zip": "1"}}],
            "Property [0].address: must be an object with only "
            "['city', 'country', 'line_1', 'line_2', 'postal_code', 'state']",
        ),
        (["not an object"], "Property [0]: must be a JSON object"),
        (
            [{"name": "a"}, ROWS[0], {"source_id": "y", "email": "bad"}],
            "Property [0].source_id: is required in a bulk import; "
            "Property [2].email: must be a valid email address",
        ),
        ([], "Body must be a non-empty JSON array of customers."),
        ({"source_id": "x"}, "Body must be a non-empty JSON array of customers."),
    ],
)
def test_bad_rows_are_rejected_naming_the_row_and_field_and_nothing_is_imported(api, enqueued, rows, details):
    with nothing_changes():
        response = api.post("/v1/customers/bulk/async", rows, format="json")

    assert_error(response, 400, "invalid_payload", details=details)
    assert enqueued == []


def test_too_many_rows_are_rejected(api, enqueued):
    rows = [{"source_id": f"c{number}"} for number in range(MAX_ROWS_PER_REQUEST + 1)]

    with nothing_changes():
        response = api.post("/v1/customers/bulk/async", rows, format="json")

    assert_error(
        response,
        400,
        "invalid_payload",
        details=f"At most {MAX_ROWS_PER_REQUEST} customers per request, got {MAX_ROWS_PER_REQUEST + 1}.",
    )


def test_unknown_async_action_is_404(api):
    with nothing_changes():
        response = api.get("/v1/async-actions/aa_000000000000000000000000")

    body = assert_error(
        response, 404, "not_found", details="Cannot find async_action with id aa_000000000000000000000000"
    )
    assert (body["resource_id"], body["resource_type"]) == ("aa_000000000000000000000000", "async_action")


def test_rows_are_read_as_json_decodes_them_escapes_aliases_and_all(
    api, project, django_capture_on_commit_callbacks, enqueued
):
    # Sent as written here: escaped characters, the `birthday` alias, a datetime where a date goes,
    # and an explicit null birthdate, which wins over the alias and leaves the birthdate unset.
    body = (
        '[{"source_id": "ada", "name": "Ada \\"Countess\\" Lovelace \\u00e9\\ud83d\\ude00",'
        ' "birthday": "1990-12-10T10:00:00Z", "address": {"city": "Krak\\u00f3w"}, "metadata": {"a\\nb": 1}},'
        ' {"source_id": "grace", "birthdate": null, "birthday": "1906-12-09"}]'
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/v1/customers/bulk/async", body, content_type="application/json")
    assert response.status_code == 202, response.content
    tasks.apply_bulk_import(enqueued[-1])

    customers = {c.source_id: c for c in Customer.objects.for_project(project)}
    ada, grace = customers["ada"], customers["grace"]
    assert (ada.name, str(ada.birthdate), ada.address_city, ada.metadata) == (
        'Ada "Countess" Lovelace \u00e9\U0001f600',
        "1990-12-10",
        "Krak\u00f3w",
        {"a\nb": 1},
    )
    assert grace.birthdate is None


def test_an_applied_import_keeps_no_copy_of_its_rows(
    api, project, django_capture_on_commit_callbacks, enqueued
):
    import_and_run(api, ROWS, django_capture_on_commit_callbacks, enqueued)

    assert BulkImport.objects.for_project(project).get().body == ""
