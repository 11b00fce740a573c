"""The filter compiler, field family by field family and operator by operator, against three
hand-built customers whose expected membership is written out in each row.

    ada  Ada Lovelace, ada@example.com, born 1990-06-20 (birthday in 5 days), joined 5 days ago,
         Warsaw / Poland, metadata club_level "Gold", score 42, vip true, joined "2024-01-15",
         orders 250.00 in 3, last order yesterday; 3 cart_abandoned (2 in the last 30 days)
    bob  Bob, no email, phone or birthdate, joined 2026-01-01, Berlin / Germany, metadata
         club_level "Silver", score "42" (a string); no orders; 1 cart_abandoned 5 days ago
    cyd  no name, cyd@shop.test, born 1985-07-03 (next month), joined today, no city, country "",
         metadata score 7.5, club_level null; orders 99.99 in 1, last order 2026-03-01; no events
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from customers.models import Customer
from segments.filters import FilterError, compile_filter
from tests.segments.support import NOW, make_customer, matching, track

pytestmark = pytest.mark.django_db

ALL = {"ada", "bob", "cyd"}


@pytest.fixture
def people(project, other_project):
    ada = make_customer(
        project,
        "ada",
        name="Ada Lovelace",
        email="ada@example.com",
        phone="+48111222333",
        birthdate=date(1990, 6, 20),
        created_at=NOW - timedelta(days=5),
        address_city="Warsaw",
        address_country="Poland",
        address_postal_code="00-001",
        metadata={"club_level": "Gold", "score": 42, "vip": True, "joined": "2024-01-15"},
        orders_total_amount=25000,
        orders_count=3,
        last_order_at=NOW - timedelta(days=1),
    )
    bob = make_customer(
        project,
        "bob",
        name="Bob",
        email=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        address_city="Berlin",
        address_country="Germany",
        metadata={"club_level": "Silver", "score": "42"},
    )
    make_customer(
        project,
        "cyd",
        name="",
        email="cyd@shop.test",
        birthdate=date(1985, 7, 3),
        created_at=NOW.replace(hour=9),
        address_country="",
        metadata={"score": 7.5, "club_level": None},
        orders_total_amount=9999,
        orders_count=1,
        last_order_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    for days_ago in (1, 20, 60):
        track(project, ada, "cart_abandoned", NOW - timedelta(days=days_ago))
    track(project, bob, "cart_abandoned", NOW - timedelta(days=5))
    track(project, bob, "visited", NOW - timedelta(days=5))
    # Another project's twin of ada: never matched, whatever the filter.
    twin = make_customer(other_project, "ada-elsewhere", name="Ada Lovelace", metadata={"club_level": "Gold"})
    track(other_project, twin, "cart_abandoned", NOW)


def only(field: str, operator: str, value) -> dict:
    return {"junction": "and", field: {"conditions": {operator: value}}}


CASES = [
    # strings
    ("name", "$is", ["Ada Lovelace"], {"ada"}),
    ("name", "$is", "Bob", {"bob"}),
    ("name", "$is_not", ["Bob"], {"ada", "cyd"}),
    ("name", "$in", ["Bob", "Ada Lovelace", "Zed"], {"ada", "bob"}),
    ("name", "$not_in", ["Bob"], {"ada", "cyd"}),
    ("name", "$starts_with", ["Ada"], {"ada"}),
    ("name", "$ends_with", ["lace"], {"ada"}),
    ("name", "$contains", ["o"], {"ada", "bob"}),
    ("name", "$contains", ["%"], set()),  # a LIKE wildcard is a plain character
    ("name", "$not_contain", ["Love"], {"bob", "cyd"}),
    ("name", "$has_value", [], {"ada", "bob"}),
    ("name", "$is_unknown", [], {"cyd"}),
    ("email", "$is", ["ada@example.com"], {"ada"}),
    ("email", "$is_not", ["ada@example.com"], {"bob", "cyd"}),  # no email is "not that email"
    ("email", "$ends_with", ["@shop.test"], {"cyd"}),
    ("email", "$not_contain", ["example"], {"bob", "cyd"}),
    ("email", "$has_value", [True], {"ada", "cyd"}),
    ("email", "$is_unknown", [True], {"bob"}),
    ("phone", "$starts_with", ["+48"], {"ada"}),
    ("phone", "$is_unknown", [], {"bob", "cyd"}),
    ("address.city", "$in", ["Warsaw", "Berlin"], {"ada", "bob"}),
    ("address.city", "$not_in", ["Warsaw"], {"bob", "cyd"}),
    ("address.country", "$is", "Poland", {"ada"}),
    ("address.country", "$is_unknown", [], {"cyd"}),  # the empty string is no value
    ("address.postal_code", "$has_value", [], {"ada"}),
    # date-times
    ("created_at", "$after", ["2026-02-01T00:00:00.000Z"], {"ada", "cyd"}),
    ("created_at", "$before", ["2026-02-01T00:00:00Z"], {"bob"}),
    ("created_at", "$after", ["2026-06-10"], {"ada", "cyd"}),
    ("created_at", "$less_than_ago", [7], {"ada", "cyd"}),
    ("created_at", "$more_than_ago", [7], {"bob"}),
    ("created_at", "$less_than", [7], {"ada", "cyd"}),
    ("created_at", "$more_than", [7], {"bob"}),
    ("created_at", "$is_days_ago", [5], {"ada"}),
    ("created_at", "$is_days_ago", [0], {"cyd"}),
    ("created_at", "$has_value", [], ALL),
    ("summary.orders.last_order_date", "$less_than_ago", [30], {"ada"}),
    ("summary.orders.last_order_date", "$more_than_ago", [30], {"cyd"}),
    ("summary.orders.last_order_date", "$is_unknown", [], {"bob"}),
    ("summary.orders.last_order_date", "$has_value", [], {"ada", "cyd"}),
    ("summary.orders.last_order_date", "$after", ["2026-04-01T00:00:00Z"], {"ada"}),
    ("summary.orders.last_order_date", "$is_days_in_future", [0], set()),
    ("summary.orders.last_order_date", "$more_than_future", [0], set()),
    ("summary.orders.last_order_date", "$less_than_future", [10], set()),
    # birthdays
    ("birthdate", "$is", ["1990-06-20"], {"ada"}),
    ("birthdate", "$before", ["1989-01-01"], {"cyd"}),
    ("birthdate", "$after", ["1989-01-01"], {"ada"}),
    ("birthdate", "$is_days_in_future", [5], {"ada"}),
    ("birthdate", "$is_days_in_future", [4], set()),
    ("birthdate", "$less_than_future", [6], {"ada"}),
    ("birthdate", "$less_than_future", [5], set()),
    ("birthdate", "$less_than_future", [30], {"ada", "cyd"}),
    ("birthdate", "$is_days_ago", [347], {"cyd"}),  # 2025-07-03 was 347 days before NOW
    ("birthdate", "$next_month", [True], {"cyd"}),
    ("birthdate", "$this_month", [True], {"ada"}),
    ("birthdate", "$has_value", [], {"ada", "cyd"}),
    ("birthdate", "$is_unknown", [], {"bob"}),
    # numbers (the orders summary)
    ("summary.orders.total_amount", "$more_than", [10000], {"ada"}),
    ("summary.orders.total_amount", "$more_than_equal", [9999], {"ada", "cyd"}),
    ("summary.orders.total_amount", "$less_than", [9999], {"bob"}),
    ("summary.orders.total_amount", "$less_than_equal", [9999], {"bob", "cyd"}),
    ("summary.orders.total_amount", "$is", [0], {"bob"}),
    ("summary.orders.total_amount", "$is_not", [0], {"ada", "cyd"}),
    ("summary.orders.total_count", "$in", [1, 3], {"ada", "cyd"}),
    ("summary.orders.total_count", "$not_in", [1, 3], {"bob"}),
    ("summary.orders.total_count", "$more_than", ["0"], {"ada", "cyd"}),  # quoted, as in Voucherify's docs
    ("summary.orders.last_order_amount", "$is", [0], ALL),
    # metadata, compared with the JSON type of the value
    ("metadata.club_level", "$is", "Gold", {"ada"}),
    ("metadata.club_level", "$in", ["Gold", "Silver"], {"ada", "bob"}),
    ("metadata.club_level", "$not_in", ["Gold"], {"bob", "cyd"}),
    ("metadata.club_level", "$is_not", ["Gold"], {"bob", "cyd"}),
    ("metadata.club_level", "$has_value", [], {"ada", "bob"}),
    ("metadata.club_level", "$is_unknown", [], {"cyd"}),  # null is no value
    ("metadata.club_level", "$starts_with", ["Gol"], {"ada"}),
    ("metadata.club_level", "$ends_with", ["ver"], {"bob"}),
    ("metadata.club_level", "$contains", ["il"], {"bob"}),
    ("metadata.club_level", "$not_contain", ["il"], {"ada", "cyd"}),
    ("metadata.score", "$is", [42], {"ada"}),  # the number, not bob's string "42"
    ("metadata.score", "$is", ["42"], {"bob"}),
    ("metadata.score", "$more_than", [10], {"ada"}),  # bob's "42" is a string: never more than 10
    ("metadata.score", "$more_than_equal", [7.5], {"ada", "cyd"}),
    ("metadata.score", "$less_than", [10], {"cyd"}),
    ("metadata.score", "$less_than_equal", [42], {"ada", "cyd"}),
    ("metadata.vip", "$is", [True], {"ada"}),
    ("metadata.vip", "$is_not", [True], {"bob", "cyd"}),
    ("metadata.joined", "$after", ["2024-01-01"], {"ada"}),
    ("metadata.joined", "$before", ["2024-01-01"], set()),
    ("metadata.missing", "$is_unknown", [], ALL),
]


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    CASES,
    ids=[f"{field} {operator} {value}" for field, operator, value, _ in CASES],
)
def test_each_operator_selects_the_expected_customers(people, project, field, operator, value, expected):
    assert matching(project, only(field, operator, value)) == expected


EVENT_CASES = [
    ({"conditions": {"$more_than": [0]}}, {"ada", "bob"}),
    ({"conditions": {"$more_than": ["2"]}}, {"ada"}),
    ({"conditions": {"$is": [0]}}, {"cyd"}),
    ({"conditions": {"$count": [1]}}, {"bob"}),
    ({"conditions": {"$count_more": [1]}}, {"ada"}),
    ({"conditions": {"$count_less": [1]}}, {"cyd"}),
    ({"conditions": {"$more_than_equal": [2]}, "window_days": 30}, {"ada"}),
    ({"conditions": {"$more_than": [2]}, "window_days": 90}, {"ada"}),
    ({"conditions": {"$more_than": [0]}, "window_days": 3}, {"ada"}),
    ({"conditions": {"$less_than_equal": [1]}, "window_days": 10}, ALL),
]


@pytest.mark.parametrize(("spec", "expected"), EVENT_CASES, ids=[str(spec) for spec, _ in EVENT_CASES])
def test_event_counts_with_and_without_a_window(people, project, spec, expected):
    assert matching(project, {"events.cart_abandoned.count": spec}) == expected


def test_an_unknown_event_name_counts_zero_for_everyone(people, project):
    assert matching(project, only("events.never_happened.count", "$is", [0])) == ALL


def test_conditions_on_one_field_must_all_hold(people, project):
    filter = {"summary.orders.total_amount": {"conditions": {"$more_than": [0], "$less_than": [10000]}}}

    assert matching(project, filter) == {"cyd"}


def test_junctions_and_nested_groups(people, project):
    gold_or_berlin = {
        "junction": "or",
        "metadata.club_level": {"conditions": {"$is": ["Gold"]}},
        "address.city": {"conditions": {"$is": ["Berlin"]}},
    }
    assert matching(project, gold_or_berlin) == {"ada", "bob"}

    assert matching(project, {**gold_or_berlin, "junction": "AND"}) == set()

    spenders_or_recent = {
        "junction": "and",
        "email": {"conditions": {"$has_value": []}},
        "groups": [
            {
                "junction": "or",
                "summary.orders.total_amount": {"conditions": {"$more_than": [20000]}},
                "groups": [{"created_at": {"conditions": {"$is_days_ago": [0]}}}],
            }
        ],
    }
    assert matching(project, spenders_or_recent) == {"ada", "cyd"}


def test_relative_dates_follow_the_clock(people, project):
    birthday_this_week = only("birthdate", "$less_than_future", [7])

    assert matching(project, birthday_this_week, now=NOW) == {"ada"}
    assert matching(project, birthday_this_week, now=NOW + timedelta(days=14)) == {"cyd"}
    assert compile_filter(birthday_this_week, now=NOW).is_time_dependent
    assert not compile_filter(only("name", "$is", "Bob"), now=NOW).is_time_dependent
    window = {"events.cart_abandoned.count": {"conditions": {"$more_than": [0]}, "window_days": 3}}
    assert compile_filter(window, now=NOW).is_time_dependent


BAD_FILTERS = [
    ({"nickname": {"conditions": {"$is": ["x"]}}}, "nickname", None, "is not a field"),
    (only("name", "$more_than", [3]), "name", "$more_than", "is not an operator of this field"),
    (
        only("summary.orders.total_amount", "$starts_with", ["1"]),
        "summary.orders.total_amount",
        "$starts_with",
        "operator",
    ),
    (
        only("summary.orders.total_amount", "$more_than", ["lots"]),
        "summary.orders.total_amount",
        "$more_than",
        "number",
    ),
    (
        only("summary.orders.total_amount", "$more_than", [True]),
        "summary.orders.total_amount",
        "$more_than",
        "number",
    ),
    (only("name", "$is", [1]), "name", "$is", "string"),
    (only("name", "$in", []), "name", "$in", "at least one value"),
    (only("metadata.level", "$in", []), "metadata.level", "$in", "at least one value"),
    (only("name", "$is", ["a", "b"]), "name", "$is", "exactly one value"),
    (only("created_at", "$after", ["yesterday"]), "created_at", "$after", "ISO 8601"),
    (only("created_at", "$less_than_ago", [-1]), "created_at", "$less_than_ago", "days"),
    (only("birthdate", "$is", ["1990-13-01"]), "birthdate", "$is", "YYYY-MM-DD"),
    (only("birthdate", "$next_month", ["soon"]), "birthdate", "$next_month", "no value"),
    (only("metadata.level", "$is", [{"a": 1}]), "metadata.level", "$is", "string, number or boolean"),
    (only("metadata.0", "$is", ["x"]), "metadata.0", None, "metadata keys"),
    (
        {"events.visited.count": {"conditions": {"$is": [1]}, "window_days": 0}},
        "events.visited.count",
        None,
        "window_days",
    ),
    ({"name": {"conditions": {"$is": ["x"]}, "window_days": 3}}, "name", None, "unknown key"),
    ({"name": {"$is": ["x"]}}, "name", None, "conditions"),
    ({"name": {"conditions": {}}}, "name", None, "at least one operator"),
    ({"junction": "xor", "name": {"conditions": {"$is": ["x"]}}}, None, None, "junction"),
    ({"junction": "and"}, None, None, "at least one condition"),
    ({"groups": []}, None, None, "non-empty array"),
    ("name is Bob", None, None, "must be an object"),
]


@pytest.mark.parametrize(
    ("filter", "field", "operator", "message"), BAD_FILTERS, ids=[str(f)[:60] for f, *_ in BAD_FILTERS]
)
def test_invalid_filters_are_refused_naming_the_field_and_operator(filter, field, operator, message):
    with pytest.raises(FilterError) as refused:
        compile_filter(filter, now=NOW)

    assert refused.value.field == field
    assert refused.value.operator == operator
    assert message in str(refused.value)


def test_limits_on_depth_size_and_conditions():
    deep: dict = {"name": {"conditions": {"$is": ["x"]}}}
    for _ in range(4):
        deep = {"groups": [deep]}
    with pytest.raises(FilterError, match="nested at most"):
        compile_filter(deep, now=NOW)

    many = {f"metadata.k{i}": {"conditions": {"$is": ["x"]}} for i in range(51)}
    with pytest.raises(FilterError, match="at most 50 conditions"):
        compile_filter(many, now=NOW)

    huge = {"name": {"conditions": {"$in": ["x" * 900] * 30}}}
    with pytest.raises(FilterError, match="bytes"):
        compile_filter(huge, now=NOW)


def test_calendar_days_are_the_projects(project):
    make_customer(project, "kiwi", birthdate=date(1990, 6, 16), created_at=NOW - timedelta(hours=11))

    def selects(filter: dict, zone: str) -> bool:
        return (
            Customer.objects.for_project(project)
            .filter(compile_filter(filter, now=NOW, zone=zone).q)
            .exists()
        )

    # 12:00 UTC on 15 June is already midnight on the 16th in Auckland: the birthday is today there,
    # and 01:00 UTC on the 15th (13:00 there) was yesterday.
    assert selects(only("birthdate", "$is_days_in_future", [0]), "Pacific/Auckland")
    assert not selects(only("birthdate", "$is_days_in_future", [0]), "UTC")
    assert selects(only("created_at", "$is_days_ago", [1]), "Pacific/Auckland")
    assert not selects(only("created_at", "$is_days_ago", [1]), "UTC")
