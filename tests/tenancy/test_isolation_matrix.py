"""Another project's keys never reach this project's objects, on every `/v1/` endpoint.

The matrix names each (method, URL name) once or more with what the outsider tries and what must
happen: `404` (the object is as good as missing, and nothing changes), `list` (ours never appear) or
`own` (the request works, but on the outsider's own project; ours is untouched). The meta-test at the
bottom walks the URL resolver, so a new endpoint without a row here fails the suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from config.urls import api_not_found
from customers import tasks
from customers.models import BulkImport, Customer, CustomEvent, Order
from eventbus.models import DomainEvent
from tests.api.support import assert_error, nothing_changes
from tests.factories import CustomerFactory

# Served to anyone, and hold no tenant data.
EXEMPT_URL_NAMES = {"openapi", "api-docs"}


@dataclass(frozen=True)
class Attempt:
    method: str
    url_name: str
    path: str  # a template over the fields of `Ours`
    expect: str  # "404" | "list" | "own"
    body: Any = None
    resource_type: str = ""
    query: dict[str, str] = field(default_factory=dict)
    # For "list": the envelope's array key and which of our objects must not appear in it.
    data_ref: str = "customers"
    our_id: str = "customer_id"
    # For "own": the model whose row the outsider's write creates in their own project, by source_id.
    own_model: str = "customer"

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.query or ''} {self.body or ''}".strip()


MATRIX = [
    # GET /v1/customers: ours never listed, however the outsider filters
    Attempt("GET", "customer-collection", "/v1/customers", "list"),
    Attempt("GET", "customer-collection", "/v1/customers", "list", query={"email": "{email}"}),
    Attempt("GET", "customer-collection", "/v1/customers", "list", query={"name": "{name}"}),
    Attempt("GET", "customer-collection", "/v1/customers", "list", query={"city": "{city}"}),
    Attempt(
        "GET", "customer-collection", "/v1/customers", "list", query={"limit": "100", "order": "source_id"}
    ),
    Attempt(
        "GET",
        "customer-collection",
        "/v1/customers",
        "list",
        query={"created_at[after]": "2000-01-01T00:00:00Z"},
    ),
    # POST /v1/customers: an upsert by our id is a 404; by our source_id it makes the outsider's own customer
    Attempt(
        "POST",
        "customer-collection",
        "/v1/customers",
        "404",
        body={"id": "{customer_id}", "name": "Hijacked"},
        resource_type="customer",
    ),
    Attempt(
        "POST",
        "customer-collection",
        "/v1/customers",
        "own",
        body={"source_id": "{source_id}", "name": "Theirs"},
    ),
    # GET / PUT / DELETE /v1/customers/{id or source_id}
    Attempt("GET", "customer-item", "/v1/customers/{customer_id}", "404", resource_type="customer"),
    Attempt("GET", "customer-item", "/v1/customers/{source_id}", "404", resource_type="customer"),
    Attempt("GET", "customer-item", "/v1/customers/{source_id_encoded}", "404", resource_type="customer"),
    Attempt(
        "PUT",
        "customer-item",
        "/v1/customers/{customer_id}",
        "404",
        body={"name": "Hijacked"},
        resource_type="customer",
    ),
    Attempt(
        "PUT",
        "customer-item",
        "/v1/customers/{source_id}",
        "404",
        body={"name": "Hijacked"},
        resource_type="customer",
    ),
    Attempt("DELETE", "customer-item", "/v1/customers/{customer_id}", "404", resource_type="customer"),
    Attempt("DELETE", "customer-item", "/v1/customers/{source_id}", "404", resource_type="customer"),
    # POST /v1/customers/bulk/async: our source_ids land in the outsider's project only
    Attempt(
        "POST",
        "customer-bulk-import",
        "/v1/customers/bulk/async",
        "own",
        body=[{"source_id": "{source_id}", "name": "Theirs"}],
    ),
    # GET /v1/async-actions/{id}
    Attempt(
        "GET", "async-action-item", "/v1/async-actions/{async_action_id}", "404", resource_type="async_action"
    ),
    # /v1/orders
    Attempt("GET", "order-collection", "/v1/orders", "list", data_ref="orders", our_id="order_id"),
    Attempt("GET", "order-item", "/v1/orders/{order_id}", "404", resource_type="order"),
    Attempt("GET", "order-item", "/v1/orders/{order_source_id}", "404", resource_type="order"),
    Attempt(
        "PUT", "order-item", "/v1/orders/{order_id}", "404", body={"status": "PAID"}, resource_type="order"
    ),
    Attempt(
        "POST",
        "order-collection",
        "/v1/orders",
        "404",
        body={"id": "{order_id}", "amount": 1},
        resource_type="order",
    ),
    Attempt(
        "POST",
        "order-collection",
        "/v1/orders",
        "404",
        body={"amount": 100, "customer": {"id": "{customer_id}"}},
        resource_type="customer",
    ),
    Attempt(
        "POST",
        "order-collection",
        "/v1/orders",
        "404",
        body={"amount": 100, "referrer_id": "{customer_id}"},
        resource_type="customer",
    ),
    Attempt(
        "POST",
        "order-collection",
        "/v1/orders",
        "own",
        body={"source_id": "{order_source_id}", "amount": 1, "customer": {"source_id": "{source_id}"}},
        own_model="order",
    ),
    # POST /v1/events: our customer's id is a 404; our source_id makes the outsider's own customer
    Attempt(
        "POST",
        "custom-event-track",
        "/v1/events",
        "404",
        body={"event": "visited", "customer": {"id": "{customer_id}"}},
        resource_type="customer",
    ),
    Attempt(
        "POST",
        "custom-event-track",
        "/v1/events",
        "own",
        body={"event": "visited", "customer": {"source_id": "{source_id}", "name": "Theirs"}},
    ),
]


@dataclass(frozen=True)
class Ours:
    customer: Customer
    bulk_import: BulkImport
    order: Order

    def ids(self) -> set[str]:
        return {
            self.customer.public_id,
            self.customer.source_id,
            self.bulk_import.public_id,
            self.order.public_id,
            self.order.source_id,
        }

    def fields(self) -> dict[str, str]:
        return {
            "customer_id": self.customer.public_id,
            "source_id": self.customer.source_id,
            "source_id_encoded": self.customer.source_id.replace("@", "%40"),
            "email": self.customer.email,
            "name": self.customer.name,
            "city": self.customer.address_city,
            "async_action_id": self.bulk_import.public_id,
            "order_id": self.order.public_id,
            "order_source_id": self.order.source_id,
        }

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**self.fields())
        if isinstance(value, dict):
            return {key: self.fill(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [self.fill(inner) for inner in value]
        return value


@pytest.fixture
def ours(project) -> Ours:
    customer = CustomerFactory(
        project=project,
        source_id="ada@example.com",
        name="Ada Lovelace",
        email="ada@example.com",
        address_city="Warsaw",
        metadata={"club_level": "Gold"},
    )
    bulk_import = BulkImport.objects.create(
        project=project, public_id="aa_0123456789abcdef01234567", body='[{"source_id": "x"}]', total=1
    )
    order = Order.objects.create(
        project=project,
        public_id="ord_0123456789abcdef01234567",
        source_id="order-1",
        amount=1000,
        customer=customer,
    )
    return Ours(customer=customer, bulk_import=bulk_import, order=order)


@pytest.fixture
def theirs(other_project) -> Customer:
    """The outsider's own customer, so that their lists are not trivially empty."""
    return CustomerFactory(
        project=other_project, source_id="rival-customer", name="Rival", address_city="Berlin"
    )


def project_state(project) -> dict[str, list]:
    return {
        "customers": list(Customer.objects.for_project(project).order_by("pk").values()),
        "events": list(DomainEvent.objects.for_project(project).order_by("pk").values_list("pk", "type")),
        "bulk_imports": list(BulkImport.objects.for_project(project).order_by("pk").values()),
        "orders": list(Order.objects.for_project(project).order_by("pk").values()),
        "custom_events": list(CustomEvent.objects.for_project(project).order_by("pk").values()),
    }


def send(client, attempt: Attempt, ours: Ours):
    path = ours.fill(attempt.path)
    if attempt.method == "GET":
        return client.get(path, ours.fill(attempt.query))
    return client.generic(
        attempt.method,
        path,
        data=None if attempt.body is None else json.dumps(ours.fill(attempt.body)),
        content_type="application/json",
    )


@pytest.mark.parametrize("attempt", [a for a in MATRIX if a.expect == "404"], ids=str)
def test_another_projects_keys_get_404_and_change_nothing(outsider_api, ours, theirs, attempt):
    with nothing_changes():
        response = send(outsider_api, attempt, ours)

    body = assert_error(response, 404, "not_found", message="Resource not found")
    assert body["resource_type"] == attempt.resource_type
    assert body["resource_id"] in ours.ids()


@pytest.mark.parametrize("attempt", [a for a in MATRIX if a.expect == "404"], ids=str)
def test_the_same_request_with_our_keys_finds_the_object(api, ours, attempt):
    # The control: the 404 above is about the keys, not about a wrong URL.
    response = send(api, attempt, ours)

    assert response.status_code in (200, 201, 204)


@pytest.mark.parametrize("attempt", [a for a in MATRIX if a.expect == "list"], ids=str)
def test_another_projects_keys_never_see_our_objects_in_lists(outsider_api, api, ours, theirs, attempt):
    with nothing_changes():
        response = send(outsider_api, attempt, ours)

    assert response.status_code == 200
    listed = {item["id"] for item in response.json()[attempt.data_ref]}
    our_id = ours.fields()[attempt.our_id]
    assert our_id not in listed
    assert listed <= {theirs.public_id}
    assert response.json()["total"] == len(listed)
    # The control: our keys do see it with the same query.
    assert our_id in {item["id"] for item in send(api, attempt, ours).json()[attempt.data_ref]}


@pytest.mark.parametrize("attempt", [a for a in MATRIX if a.expect == "own"], ids=str)
def test_another_projects_writes_by_our_source_ids_stay_in_their_project(
    outsider_api,
    ours,
    theirs,
    project,
    other_project,
    attempt,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    enqueued: list[int] = []
    monkeypatch.setattr(tasks.apply_bulk_import, "delay", enqueued.append)
    before = project_state(project)

    with django_capture_on_commit_callbacks(execute=True):
        response = send(outsider_api, attempt, ours)
    for bulk_import_id in enqueued:
        tasks.apply_bulk_import(bulk_import_id)

    assert response.status_code in (200, 201, 202)
    assert project_state(project) == before
    if attempt.own_model == "order":
        copy = Order.objects.for_project(other_project).get(source_id=ours.order.source_id)
        assert copy.public_id != ours.order.public_id
        assert copy.customer.source_id == ours.customer.source_id
        assert copy.customer.public_id != ours.customer.public_id
    else:
        copy = Customer.objects.for_project(other_project).get(source_id=ours.customer.source_id)
        assert copy.public_id != ours.customer.public_id
        assert copy.name == "Theirs"


def v1_endpoints() -> set[tuple[str, str]]:
    """Every (METHOD, URL name) served under /v1/, read from the URL resolver."""
    endpoints: set[tuple[str, str]] = set()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            assert isinstance(pattern, URLPattern)
            if (
                not route.startswith("v1/")
                or pattern.name in EXEMPT_URL_NAMES
                or pattern.callback is api_not_found
            ):
                continue
            name = pattern.name or f"<unnamed {route}>"
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is None:  # a function view: its methods are unknown, so the matrix must say
                endpoints.add(("ANY", name))
                continue
            for method in view_class.http_method_names:
                if method not in ("head", "options") and hasattr(view_class, method):
                    endpoints.add((method.upper(), name))

    walk(get_resolver().url_patterns, "")
    return endpoints


def covered_by_the_campaign_isolation_tests() -> set[tuple[str, str]]:
    """Campaign endpoints keep their own isolation table (tests/campaigns/test_isolation.py), built on
    campaign fixtures; its paths are resolved here so the meta-test sees them."""
    from tests.campaigns import test_isolation as campaigns

    def url_name(path: str) -> str:
        return resolve(path.split("?")[0]).url_name

    covered = {
        (method.upper(), url_name(path)) for method, path, _ in campaigns.ENDPOINTS + campaigns.OWN_WRITES
    }
    covered |= {("GET", url_name(path)) for path, _ in campaigns.LISTS}
    covered.add(("ANY", url_name(campaigns.ASSET_PATH)))
    return covered


def covered_by_other_isolation_modules() -> set[tuple[str, str]]:
    """Every `tests/**/test_isolation*.py` module may declare `ISOLATION_ROUTES`: the (METHOD, example
    path) pairs whose outsider tests it holds. Declaring a route there is a promise that the module
    tests it against another project's keys; "ANY" stands for a function view's methods."""
    import importlib
    import pkgutil

    import tests

    covered: set[tuple[str, str]] = set()
    for module_info in pkgutil.walk_packages(tests.__path__, "tests."):
        if not module_info.name.rsplit(".", 1)[-1].startswith("test_isolation"):
            continue
        module = importlib.import_module(module_info.name)
        for method, path in getattr(module, "ISOLATION_ROUTES", ()):
            covered.add((method.upper(), resolve(path.split("?")[0]).url_name))
    return covered


def test_every_v1_endpoint_is_in_the_isolation_matrix():
    covered = {(attempt.method, attempt.url_name) for attempt in MATRIX}
    covered |= covered_by_the_campaign_isolation_tests()
    covered |= covered_by_other_isolation_modules()

    missing = v1_endpoints() - covered
    assert not missing, f"add rows to MATRIX for: {sorted(missing)}"


def test_the_isolation_matrix_names_only_real_endpoints():
    stale = {(attempt.method, attempt.url_name) for attempt in MATRIX} - v1_endpoints()

    assert not stale, f"remove or rename rows in MATRIX for: {sorted(stale)}"


def test_the_endpoint_walk_sees_the_customer_api():
    # Guards the meta-test itself: an empty walk would pass it vacuously.
    assert {
        ("GET", "customer-collection"),
        ("DELETE", "customer-item"),
        ("GET", "async-action-item"),
    } <= v1_endpoints()
