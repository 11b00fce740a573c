"""GET /v1/customers: Voucherify's list envelope, limit/page paging, filters and ordering."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.support import assert_error, nothing_changes
from tests.customers.support import expected_customer
from tests.factories import CustomerFactory

UTC = dt.UTC


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, tzinfo=UTC)


@pytest.fixture
def five_customers(project):
    """c1..c5, created on 1..5 January 2024; c1 is the oldest."""
    return [
        CustomerFactory(project=project, source_id=f"c{day}", name=f"Customer {day}", created_at=at(day))
        for day in range(1, 6)
    ]


def source_ids(response) -> list[str]:
    return [customer["source_id"] for customer in response.json()["customers"]]


def test_list_returns_the_voucherify_envelope_newest_first(api, five_customers):
    response = api.get("/v1/customers")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    newest_first = list(reversed(five_customers))
    assert response.json() == {
        "object": "list",
        "data_ref": "customers",
        "customers": [expected_customer(customer) for customer in newest_first],
        "total": 5,
        "has_more": False,
    }


def test_list_of_no_customers_is_an_empty_envelope(api):
    response = api.get("/v1/customers")

    assert response.json() == {
        "object": "list",
        "data_ref": "customers",
        "customers": [],
        "total": 0,
        "has_more": False,
    }


@pytest.mark.parametrize(
    ("page", "expected_source_ids", "has_more"),
    [
        (1, ["c5", "c4"], True),
        (2, ["c3", "c2"], True),
        (3, ["c1"], False),
        (4, [], False),
    ],
)
def test_pages_by_limit_and_page_with_total_and_has_more(
    api, five_customers, page, expected_source_ids, has_more
):
    response = api.get("/v1/customers", {"limit": 2, "page": page})

    assert response.status_code == 200
    assert source_ids(response) == expected_source_ids
    assert (response.json()["total"], response.json()["has_more"]) == (5, has_more)


def test_limit_defaults_to_ten(api, project):
    CustomerFactory.create_batch(11, project=project)

    response = api.get("/v1/customers")

    assert len(response.json()["customers"]) == 10
    assert (response.json()["total"], response.json()["has_more"]) == (11, True)


def test_limit_of_100_is_allowed(api, five_customers):
    response = api.get("/v1/customers", {"limit": 100})

    assert response.status_code == 200
    assert len(response.json()["customers"]) == 5


@pytest.mark.parametrize(
    ("query", "details"),
    [
        ({"limit": 101}, "Query parameter limit must be between 1 and 100, got 101."),
        ({"limit": 0}, "Query parameter limit must be between 1 and 100, got 0."),
        ({"limit": "ten"}, "Query parameter limit must be an integer, got 'ten'."),
        ({"page": 0}, "Query parameter page must be between 1 and 99, got 0."),
        ({"page": 100}, "Query parameter page must be between 1 and 99, got 100."),
        (
            {"order": "name"},
            "Query parameter order must be one of created_at, -created_at, updated_at, "
            "-updated_at, source_id, -source_id.",
        ),
        (
            {"created_at[before]": "yesterday"},
            "Query parameter created_at[before] must be an ISO 8601 datetime.",
        ),
        # Well-formed but impossible: a 400, not a crash.
        (
            {"created_at[after]": "2024-13-01T00:00:00Z"},
            "Query parameter created_at[after] must be an ISO 8601 datetime.",
        ),
        (
            {"updated_at[after]": "2024-01-01T25:00:00"},
            "Query parameter updated_at[after] must be an ISO 8601 datetime.",
        ),
        ({"starting_after": "soon"}, "Query parameter starting_after must be an ISO 8601 datetime."),
    ],
)
def test_bad_query_parameters_are_400_invalid_query_params(api, five_customers, query, details):
    with nothing_changes():
        response = api.get("/v1/customers", query)

    assert_error(response, 400, "invalid_query_params", message="Invalid query params", details=details)


def test_filter_by_email_is_case_insensitive_and_exact(api, project):
    CustomerFactory(project=project, source_id="ada", email="ada@example.com")
    CustomerFactory(project=project, source_id="adam", email="adam@example.com")

    response = api.get("/v1/customers", {"email": "ADA@example.com"})

    assert source_ids(response) == ["ada"]
    assert response.json()["total"] == 1


def test_filter_by_city(api, project):
    CustomerFactory(project=project, source_id="w", address_city="Warsaw")
    CustomerFactory(project=project, source_id="b", address_city="Berlin")
    CustomerFactory(project=project, source_id="none", address_city=None)

    response = api.get("/v1/customers", {"city": "warsaw"})

    assert source_ids(response) == ["w"]


def test_filter_by_name_matches_part_of_the_name(api, project):
    CustomerFactory(project=project, source_id="ada", name="Ada Lovelace")
    CustomerFactory(project=project, source_id="grace", name="Grace Hopper")

    response = api.get("/v1/customers", {"name": "lovelace"})

    assert source_ids(response) == ["ada"]


@pytest.mark.parametrize(
    ("query", "expected_source_ids"),
    [
        # The SDK's datetime format: microseconds and an offset without a colon.
        ({"created_at[before]": "2024-01-03T00:00:00.000000+0000"}, ["c2", "c1"]),
        ({"created_at[after]": "2024-01-03T00:00:00.000000+0000"}, ["c5", "c4", "c3"]),
        (
            {
                "created_at[after]": "2024-01-02T00:00:00.000000+0000",
                "created_at[before]": "2024-01-04T00:00:00.000000+0000",
            },
            ["c3", "c2"],
        ),
        # An offset moves the instant: 2024-01-03 13:00 at +02:00 is 11:00 UTC, before c3's noon.
        ({"created_at[after]": "2024-01-03T13:00:00.000000+0200"}, ["c5", "c4", "c3"]),
        ({"created_at[after]": "2024-01-03T12:00:00Z"}, ["c5", "c4"]),
        # The SDK sends a naive datetime without an offset; it is read as UTC.
        ({"created_at[after]": "2024-01-03T11:00:00.000000"}, ["c5", "c4", "c3"]),
        ({"created_at[after]": "2024-01-03T12:00:00.000000"}, ["c5", "c4"]),
    ],
)
def test_filter_by_created_at_bounds(api, five_customers, query, expected_source_ids):
    response = api.get("/v1/customers", query)

    assert response.status_code == 200
    assert source_ids(response) == expected_source_ids


def test_created_at_filter_accepts_a_url_encoded_offset(api, five_customers):
    # requests (under the SDK) sends `+` as %2B; a bare `+` decodes to a space, which is also accepted.
    encoded = api.get("/v1/customers?created_at[before]=2024-01-03T00:00:00.000000%2B0000")
    bare = api.get("/v1/customers?created_at[before]=2024-01-03T00:00:00.000000+0000")

    assert source_ids(encoded) == source_ids(bare) == ["c2", "c1"]


def test_filter_by_updated_at_bounds(api, project):
    CustomerFactory(project=project, source_id="never-updated", updated_at=None)
    CustomerFactory(project=project, source_id="old", updated_at=at(2))
    CustomerFactory(project=project, source_id="new", updated_at=at(4))

    after = api.get("/v1/customers", {"updated_at[after]": "2024-01-03T00:00:00.000000+0000"})
    before = api.get("/v1/customers", {"updated_at[before]": "2024-01-03T00:00:00.000000+0000"})

    assert source_ids(after) == ["new"]
    assert source_ids(before) == ["old"]


def test_filters_combine(api, project):
    CustomerFactory(project=project, source_id="match", name="Ada", address_city="Warsaw", created_at=at(5))
    CustomerFactory(project=project, source_id="old", name="Ada", address_city="Warsaw", created_at=at(1))
    CustomerFactory(
        project=project, source_id="elsewhere", name="Ada", address_city="Paris", created_at=at(5)
    )

    response = api.get(
        "/v1/customers",
        {"name": "ada", "city": "Warsaw", "created_at[after]": "2024-01-03T00:00:00.000000+0000"},
    )

    assert source_ids(response) == ["match"]


@pytest.mark.parametrize(
    ("order", "expected_source_ids"),
    [
        ("created_at", ["c1", "c2", "c3", "c4", "c5"]),
        ("-created_at", ["c5", "c4", "c3", "c2", "c1"]),
        ("source_id", ["a", "c1", "c2", "c3", "c4", "c5"]),
        ("-source_id", ["c5", "c4", "c3", "c2", "c1", "a"]),
    ],
)
def test_orders_by_the_order_parameter(api, project, five_customers, order, expected_source_ids):
    if "source_id" in order:
        CustomerFactory(project=project, source_id="a", created_at=at(3, hour=13))

    response = api.get("/v1/customers", {"order": order})

    assert source_ids(response) == expected_source_ids


def test_orders_by_updated_at(api, project):
    CustomerFactory(project=project, source_id="second", updated_at=at(2))
    CustomerFactory(project=project, source_id="first", updated_at=at(1))
    CustomerFactory(project=project, source_id="third", updated_at=at(3))

    ascending = api.get("/v1/customers", {"order": "updated_at"})
    descending = api.get("/v1/customers", {"order": "-updated_at"})

    assert source_ids(ascending) == ["first", "second", "third"]
    assert source_ids(descending) == ["third", "second", "first"]


def test_customers_created_at_the_same_instant_page_without_repeats(api, project):
    for number in range(6):
        CustomerFactory(project=project, source_id=f"same-{number}", created_at=at(1))

    pages = [source_ids(api.get("/v1/customers", {"limit": 2, "page": page})) for page in (1, 2, 3)]

    seen = [source_id for page in pages for source_id in page]
    assert sorted(seen) == [f"same-{number}" for number in range(6)]


def test_list_query_count_does_not_grow_with_the_page(api, project, django_assert_num_queries):
    CustomerFactory.create_batch(30, project=project)
    api.get("/v1/customers")  # the key's last_used_at is written once; later requests only read

    # the API key (with its project), one page of customers, the total count, and the page's
    # redemption and referral summaries (one query, whatever the page size)
    with django_assert_num_queries(3 + 1):
        response = api.get("/v1/customers", {"limit": 25})

    assert len(response.json()["customers"]) == 25


def test_last_page_needs_no_count_query(api, project, django_assert_num_queries):
    CustomerFactory.create_batch(3, project=project)
    api.get("/v1/customers")

    # the API key and one page of customers (a short last page tells the total by itself), and
    # the page's summaries
    with django_assert_num_queries(2 + 1):
        response = api.get("/v1/customers", {"limit": 25})

    assert response.json()["total"] == 3


def test_starting_after_lists_customers_created_after_that_moment(api, five_customers):
    response = api.get("/v1/customers", {"starting_after": "2024-01-03T12:00:00.000Z", "order": "created_at"})

    assert source_ids(response) == ["c4", "c5"]


def test_email_filter_is_written_for_the_lower_email_index(api, project, django_assert_num_queries):
    CustomerFactory(project=project, source_id="ada", email="ada@example.com")
    api.get("/v1/customers")

    with django_assert_num_queries(2 + 1) as captured:
        response = api.get("/v1/customers", {"email": "Ada@Example.com"})

    assert source_ids(response) == ["ada"]
    customers_sql = captured.captured_queries[1]["sql"]
    assert 'LOWER("customers_customer"."email") = \'ada@example.com\'' in customers_sql
