"""Property-based: for random customers and random filters, the one SQL query, the real-time CASE
evaluation and a straightforward Python evaluation of the same filter agree on every customer."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign, LoyaltyCard, LoyaltyTier, Redemption, Voucher
from customers.models import Customer
from segments.filters.campaign_fields import REDEMPTION_METRICS
from segments.models import Segment
from segments.realtime import evaluate_customer
from tenancy.ids import new_public_id
from tests.segments.support import NOW, make_customer, matching, track

pytestmark = pytest.mark.django_db

TODAY = NOW.date()
VERSIONS = itertools.count(1)
MISSING = object()

# --- random customers ----------------------------------------------------------------------------

NAMES = ["", "Ada", "Bob", "Ada Lovelace", "bo", "O'Hara_%"]
EMAILS = [None, "", "ada@x.io", "bob@y.io"]
CITIES = [None, "", "Warsaw", "Berlin", "War"]
BIRTHDATES = [
    None,
    date(1990, 6, 15),
    date(1990, 6, 20),
    date(1985, 7, 3),
    date(2000, 1, 1),
    date(1988, 6, 14),
]
AGES_IN_DAYS = [0.1, 0.9, 1.5, 3, 10, 40, 400]
AMOUNTS = [0, 5000, 10000, 25000]
COUNTS = [0, 1, 3]
METADATA_VALUES = [MISSING, None, "gold", "silver", "", 5, 7.5, True, False, "5", "2024-01-15"]
EVENT_AGES = [0.5, 2, 10, 45]
REDEMPTIONS = [("SUCCESS", "SUCCEEDED"), ("FAILURE", "FAILED"), ("SUCCESS", "ROLLED_BACK")]
TIERS = {"Silver": "ltr_silver", "Gold": "ltr_gold"}

customers_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(NAMES),
            "email": st.sampled_from(EMAILS),
            "address_city": st.sampled_from(CITIES),
            "birthdate": st.sampled_from(BIRTHDATES),
            "created_days": st.sampled_from(AGES_IN_DAYS),
            "orders_total_amount": st.sampled_from(AMOUNTS),
            "orders_count": st.sampled_from(COUNTS),
            "last_order_days": st.sampled_from([None, *AGES_IN_DAYS]),
            "level": st.sampled_from(METADATA_VALUES),
            "score": st.sampled_from(METADATA_VALUES),
            "events": st.lists(st.sampled_from(EVENT_AGES), max_size=3),
            # (result, status) of each redemption; a rolled back one also has its rollback row
            "redemptions": st.lists(st.sampled_from(REDEMPTIONS), max_size=3),
            # None: not a member of the program
            "points": st.sampled_from([None, 0, 50, 500]),
            "tier": st.sampled_from([None, "Silver", "Gold"]),
        }
    ),
    min_size=1,
    max_size=6,
)

# --- random filters: (field, operator, value) leaves in and / or groups -----------------------------

STRING_FIELDS = {"name": "name", "email": "email", "address.city": "address_city"}
STRING_VALUES = ["Ada", "Bob", "bo", "a", "War", "ada@x.io", "%", "_"]
METADATA_SCALARS = ["gold", "silver", 5, 7.5, 5.0, True, "5", "g", "2024-01-01"]


def leaves() -> st.SearchStrategy:
    string_leaf = (
        st.tuples(
            st.sampled_from(sorted(STRING_FIELDS)),
            st.sampled_from(["$is", "$is_not", "$starts_with", "$ends_with", "$contains", "$not_contain"]),
            st.sampled_from(STRING_VALUES).map(lambda v: [v]),
        )
        | st.tuples(
            st.sampled_from(sorted(STRING_FIELDS)),
            st.sampled_from(["$in", "$not_in"]),
            st.lists(st.sampled_from(STRING_VALUES), min_size=1, max_size=3),
        )
        | st.tuples(
            st.sampled_from(sorted(STRING_FIELDS)),
            st.sampled_from(["$has_value", "$is_unknown"]),
            st.just([]),
        )
    )
    number_leaf = st.tuples(
        st.sampled_from(["summary.orders.total_amount", "summary.orders.total_count"]),
        st.sampled_from(
            ["$is", "$is_not", "$more_than", "$more_than_equal", "$less_than", "$less_than_equal"]
        ),
        st.sampled_from([0, 1, 3, 5000, 10000]).map(lambda v: [v]),
    )
    datetime_leaf = (
        st.tuples(
            st.sampled_from(["created_at", "summary.orders.last_order_date"]),
            st.sampled_from(
                ["$more_than_ago", "$less_than_ago", "$is_days_ago", "$less_than_future", "$more_than_future"]
            ),
            st.sampled_from([0, 1, 3, 30]).map(lambda v: [v]),
        )
        | st.tuples(
            st.sampled_from(["created_at", "summary.orders.last_order_date"]),
            st.sampled_from(["$after", "$before"]),
            st.sampled_from(["2026-06-14T12:00:00Z", "2026-06-01T00:00:00Z", "2025-01-01T00:00:00Z"]).map(
                lambda v: [v]
            ),
        )
        | st.tuples(
            st.sampled_from(["created_at", "summary.orders.last_order_date"]),
            st.sampled_from(["$has_value", "$is_unknown"]),
            st.just([]),
        )
    )
    birthday_leaf = (
        st.tuples(
            st.just("birthdate"),
            st.sampled_from(["$is_days_in_future", "$is_days_ago"]),
            st.sampled_from([0, 1, 5, 18]).map(lambda v: [v]),
        )
        | st.tuples(
            st.just("birthdate"),
            st.sampled_from(["$less_than_future"]),
            st.sampled_from([1, 6, 30]).map(lambda v: [v]),
        )
        | st.tuples(
            st.just("birthdate"),
            st.sampled_from(["$next_month", "$this_month", "$has_value", "$is_unknown"]),
            st.just([]),
        )
        | st.tuples(
            st.just("birthdate"),
            st.sampled_from(["$is", "$after", "$before"]),
            st.sampled_from(["1990-06-15", "1988-01-01"]).map(lambda v: [v]),
        )
    )
    metadata_leaf = (
        st.tuples(
            st.sampled_from(["metadata.level", "metadata.score"]),
            st.sampled_from(["$is", "$is_not"]),
            st.sampled_from(METADATA_SCALARS).map(lambda v: [v]),
        )
        | st.tuples(
            st.sampled_from(["metadata.level", "metadata.score"]),
            st.sampled_from(["$in", "$not_in"]),
            st.lists(st.sampled_from(METADATA_SCALARS), min_size=1, max_size=3),
        )
        | st.tuples(
            st.sampled_from(["metadata.level", "metadata.score"]),
            st.sampled_from(["$more_than", "$more_than_equal", "$less_than", "$less_than_equal"]),
            st.sampled_from([0, 5, 6, 7.5]).map(lambda v: [v]),
        )
        | st.tuples(
            st.sampled_from(["metadata.level", "metadata.score"]),
            st.sampled_from(["$starts_with", "$ends_with", "$contains", "$not_contain", "$after", "$before"]),
            st.sampled_from(["g", "gold", "5", "ver", "2024-01-01"]).map(lambda v: [v]),
        )
        | st.tuples(
            st.sampled_from(["metadata.level", "metadata.score"]),
            st.sampled_from(["$has_value", "$is_unknown"]),
            st.just([]),
        )
    )
    event_leaf = st.tuples(
        st.sampled_from(["events.cart.count", "events.cart.count@7", "events.cart.count@30"]),
        st.sampled_from(["$is", "$more_than", "$less_than", "$more_than_equal"]),
        st.sampled_from([0, 1, 2]).map(lambda v: [v]),
    )
    redemption_leaf = st.tuples(
        st.sampled_from([f"summary.redemptions.{metric}" for metric in REDEMPTION_METRICS]),
        st.sampled_from(["$is", "$more_than", "$less_than", "$more_than_equal", "$is_not"]),
        st.sampled_from([0, 1, 2]).map(lambda v: [v]),
    )
    points_leaf = st.tuples(
        st.just("loyalty_points.campaigns.Club.points"),
        st.sampled_from(
            ["$is", "$is_not", "$more_than", "$more_than_equal", "$less_than", "$less_than_equal"]
        ),
        st.sampled_from([0, 50, 100]).map(lambda v: [v]),
    ) | st.tuples(
        st.just("loyalty_points.campaigns.Club.points"),
        st.sampled_from(["$has_value", "$is_unknown"]),
        st.just([]),
    )
    tier_leaf = st.tuples(
        st.just("loyalty_tier.campaigns.Club.tier"),
        st.sampled_from(["$is", "$is_not", "$in", "$not_in", "$has_value", "$is_unknown"]),
        st.sampled_from(sorted(TIERS.values())).map(lambda v: [v]),
    )
    return (
        string_leaf
        | number_leaf
        | datetime_leaf
        | birthday_leaf
        | metadata_leaf
        | event_leaf
        | redemption_leaf
        | points_leaf
        | tier_leaf
    )


def groups() -> st.SearchStrategy:
    return st.recursive(
        leaves(),
        lambda children: st.tuples(
            st.sampled_from(["and", "or"]), st.lists(children, min_size=1, max_size=3)
        ),
        max_leaves=6,
    )


def to_json(node) -> dict:
    """A node as filter JSON; a field named twice in one group goes into a one-field nested group."""
    if len(node) == 3 and isinstance(node[0], str) and node[0] not in ("and", "or"):
        node = ("and", [node])
    junction, children = node
    group: dict[str, Any] = {"junction": junction}
    for child in children:
        if child[0] in ("and", "or"):
            group.setdefault("groups", []).append(to_json(child))
            continue
        field, operator, value = child
        path, spec = field.split("@")[0], {"conditions": {operator: value}}
        if "@" in field:
            spec["window_days"] = int(field.split("@")[1])
        if operator in ("$has_value", "$is_unknown"):
            spec["conditions"][operator] = []
        if path in group:
            group.setdefault("groups", []).append({path: spec})
        else:
            group[path] = spec
    return group


# --- the Python evaluation -----------------------------------------------------------------------


def json_equal(stored: Any, wanted: Any) -> bool:
    if stored is MISSING or stored is None:
        return False
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return isinstance(stored, bool) and isinstance(wanted, bool) and stored == wanted
    if isinstance(stored, int | float) and isinstance(wanted, int | float):
        return stored == wanted
    return type(stored) is type(wanted) and stored == wanted


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def holds(person: dict, field: str, operator: str, values: list) -> bool:
    value = values[0] if values else None
    if field in STRING_FIELDS:
        current = person[STRING_FIELDS[field]]
        return {
            "$is": lambda: current == value,
            "$is_not": lambda: current != value,
            "$in": lambda: current in values,
            "$not_in": lambda: current not in values,
            "$starts_with": lambda: current is not None and current.startswith(value),
            "$ends_with": lambda: current is not None and current.endswith(value),
            "$contains": lambda: current is not None and value in current,
            "$not_contain": lambda: not (current is not None and value in current),
            "$has_value": lambda: current not in (None, ""),
            "$is_unknown": lambda: current in (None, ""),
        }[operator]()
    if field.startswith("summary.orders.total") or field.startswith("events."):
        if field.startswith("events."):
            window = int(field.split("@")[1]) if "@" in field else None
            current = sum(1 for age in person["events"] if window is None or age <= window)
        else:
            current = person["orders_total_amount" if field.endswith("amount") else "orders_count"]
        return {
            "$is": lambda: current == value,
            "$is_not": lambda: current != value,
            "$more_than": lambda: current > value,
            "$more_than_equal": lambda: current >= value,
            "$less_than": lambda: current < value,
            "$less_than_equal": lambda: current <= value,
        }[operator]()
    if field in ("created_at", "summary.orders.last_order_date"):
        days = person["created_days" if field == "created_at" else "last_order_days"]
        current = None if days is None else NOW - timedelta(days=days)
        if operator == "$has_value":
            return current is not None
        if operator == "$is_unknown":
            return current is None
        if current is None:
            return False
        if operator in ("$after", "$before"):
            bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return current > bound if operator == "$after" else current < bound
        span = timedelta(days=value)
        return {
            "$more_than_ago": lambda: current < NOW - span,
            "$less_than_ago": lambda: NOW - span <= current <= NOW,
            "$is_days_ago": lambda: current.astimezone(UTC).date() == TODAY - span,
            "$more_than_future": lambda: current > NOW + span,
            "$less_than_future": lambda: NOW <= current <= NOW + span,
        }[operator]()
    if field == "birthdate":
        born = person["birthdate"]
        if operator == "$has_value":
            return born is not None
        if operator == "$is_unknown":
            return born is None
        if born is None:
            return False
        on = (born.month, born.day)
        if operator in ("$is", "$after", "$before"):
            bound = date.fromisoformat(value)
            return {"$is": born == bound, "$after": born > bound, "$before": born < bound}[operator]
        if operator == "$is_days_in_future":
            day = TODAY + timedelta(days=value)
            return on == (day.month, day.day)
        if operator == "$is_days_ago":
            day = TODAY - timedelta(days=value)
            return on == (day.month, day.day)
        if operator == "$less_than_future":
            days = [TODAY + timedelta(days=offset) for offset in range(value)]
            return on in {(day.month, day.day) for day in days}
        if operator == "$this_month":
            return born.month == TODAY.month
        if operator == "$next_month":
            return born.month == TODAY.month % 12 + 1
    if field.startswith("metadata."):
        current = person[field.split(".")[1]]
        return {
            "$is": lambda: json_equal(current, value),
            "$is_not": lambda: not json_equal(current, value),
            "$in": lambda: any(json_equal(current, v) for v in values),
            "$not_in": lambda: not any(json_equal(current, v) for v in values),
            "$more_than": lambda: is_number(current) and current > value,
            "$more_than_equal": lambda: is_number(current) and current >= value,
            "$less_than": lambda: is_number(current) and current < value,
            "$less_than_equal": lambda: is_number(current) and current <= value,
            "$starts_with": lambda: isinstance(current, str) and current.startswith(value),
            "$ends_with": lambda: isinstance(current, str) and current.endswith(value),
            "$contains": lambda: isinstance(current, str) and value in current,
            "$not_contain": lambda: not (isinstance(current, str) and value in current),
            "$after": lambda: isinstance(current, str) and current > value,
            "$before": lambda: isinstance(current, str) and current < value,
            "$has_value": lambda: current not in (MISSING, None, ""),
            "$is_unknown": lambda: current in (MISSING, None, ""),
        }[operator]()
    if field.startswith("summary.redemptions."):
        current = redemption_count(person["redemptions"], field.split(".")[2])
        return {
            "$is": lambda: current == value,
            "$is_not": lambda: current != value,
            "$more_than": lambda: current > value,
            "$more_than_equal": lambda: current >= value,
            "$less_than": lambda: current < value,
        }[operator]()
    if field.startswith("loyalty_points."):
        current = person["points"]  # None: not a member, so no balance
        if operator in ("$has_value", "$is_unknown"):
            return (current is not None) == (operator == "$has_value")
        if operator == "$is_not":
            return current != value
        return (
            current is not None
            and {
                "$is": lambda: current == value,
                "$more_than": lambda: current > value,
                "$more_than_equal": lambda: current >= value,
                "$less_than": lambda: current < value,
                "$less_than_equal": lambda: current <= value,
            }[operator]()
        )
    if field.startswith("loyalty_tier."):
        current = tier_of(person)
        return {
            "$is": lambda: current == value,
            "$in": lambda: current in values,
            "$is_not": lambda: current != value,
            "$not_in": lambda: current not in values,
            "$has_value": lambda: current is not None,
            "$is_unknown": lambda: current is None,
        }[operator]()
    raise AssertionError(f"no Python evaluation for {field}")


def redemption_count(redemptions: list[tuple[str, str]], metric: str) -> int:
    rolled_back = sum(1 for _, status in redemptions if status == "ROLLED_BACK")
    return {
        "total_redeemed": len(redemptions),
        "total_succeeded": sum(1 for result, _ in redemptions if result == "SUCCESS"),
        "total_failed": sum(1 for result, _ in redemptions if result == "FAILURE"),
        "total_rolled_back": rolled_back,
        "total_rollback_succeeded": rolled_back,
        "total_rollback_failed": 0,
    }[metric]


def tier_of(person: dict) -> str | None:
    """The tier id a member holds (a non-member holds none, whatever was drawn)."""
    if person["points"] is None or person["tier"] is None:
        return None
    return TIERS[person["tier"]]


def evaluate(node, person: dict) -> bool:
    if node[0] in ("and", "or"):
        results = [evaluate(child, person) for child in node[1]]
        return all(results) if node[0] == "and" else any(results)
    return holds(person, *node)


# --- the property --------------------------------------------------------------------------------


def create(project, index: int, person: dict) -> Customer:
    metadata = {key: person[key] for key in ("level", "score") if person[key] is not MISSING}
    customer = make_customer(
        project,
        f"p{index}",
        name=person["name"],
        email=person["email"],
        address_city=person["address_city"],
        birthdate=person["birthdate"],
        created_at=NOW - timedelta(days=person["created_days"]),
        orders_total_amount=person["orders_total_amount"],
        orders_count=person["orders_count"],
        last_order_at=None
        if person["last_order_days"] is None
        else NOW - timedelta(days=person["last_order_days"]),
        metadata=metadata,
    )
    for age in person["events"]:
        track(project, customer, "cart", NOW - timedelta(days=age))
    for result, status in person["redemptions"]:
        done = Redemption.objects.create(
            project=project,
            public_id=new_public_id("r", 24),
            customer=customer,
            related_object_type="voucher",
            result=result,
            status=status,
        )
        if status == "ROLLED_BACK":
            Redemption.objects.create(
                project=project,
                public_id=new_public_id("r", 24),
                customer=customer,
                object=Redemption.Object.ROLLBACK,
                related_object_type="voucher",
                result="SUCCESS",
                status="SUCCEEDED",
                rollback_of=done,
            )
    if person["points"] is not None:
        program, tiers = loyalty_program(project)
        card = Voucher.objects.create(
            project=project,
            public_id=new_public_id("v", 24),
            code=f"CARD-{index}",
            campaign=program,
            type="LOYALTY_CARD",
            loyalty_points=person["points"],
            loyalty_balance=person["points"],
        )
        LoyaltyCard.objects.create(
            project=project,
            campaign=program,
            customer=customer,
            voucher=card,
            tier=tiers[person["tier"]] if person["tier"] else None,
        )
    return customer


def loyalty_program(project) -> tuple[Campaign, dict[str, LoyaltyTier]]:
    """The example's "Club" program and its tiers (ids fixed, so filters can name them)."""
    program = Campaign.objects.for_project(project).filter(name="Club").first()
    if program is None:
        program = Campaign.objects.create(
            project=project, public_id=new_public_id("camp", 24), name="Club", campaign_type="LOYALTY_PROGRAM"
        )
        for name, (low, high) in {"Silver": (100, 999), "Gold": (1000, None)}.items():
            LoyaltyTier.objects.create(
                project=project,
                public_id=TIERS[name],
                campaign=program,
                name=name,
                points_from=low,
                points_to=high,
            )
    tiers = {tier.name: tier for tier in LoyaltyTier.objects.for_project(project).filter(campaign=program)}
    return program, tiers


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=customers_strategy, tree=groups())
def test_sql_realtime_and_python_agree(project, people, tree):
    filter = to_json(tree)
    with transaction.atomic():
        customers = [create(project, index, person) for index, person in enumerate(people)]
        expected = {f"p{index}" for index, person in enumerate(people) if evaluate(tree, person)}

        assert matching(project, filter) == expected, filter

        # A new filter version per example: the re-check caches each segment version's SQL.
        segment = Segment(pk=1, filter=filter, filter_version=next(VERSIONS))
        realtime = {c.source_id for c in customers if evaluate_customer(project, c.pk, [segment], now=NOW)}
        assert realtime == expected, filter
        transaction.set_rollback(True)
