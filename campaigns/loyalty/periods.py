"""Calendar arithmetic of a program's rules: when points expire, and the periods tiers are held for.

Dates are UTC calendar days. A bucket expiring on day D still counts on D and is gone from D + 1.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date
from typing import Any

PERIOD_MONTHS = {"MONTH": 1, "QUARTER": 3, "HALF_YEAR": 6, "YEAR": 12}
ROUNDING_MONTHS = {"END_OF_MONTH": 1, "END_OF_QUARTER": 3, "END_OF_HALF_YEAR": 6, "END_OF_YEAR": 12}


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def end_of_month(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def end_of_block(day: date, months: int) -> date:
    """The last day of the `months`-long block of the year (quarter, half year...) holding `day`."""
    last_month = ((day.month - 1) // months + 1) * months
    return end_of_month(date(day.year, last_month, 1))


def start_of_block(day: date, months: int) -> date:
    return date(day.year, ((day.month - 1) // months) * months + 1, 1)


def points_expiry(rules: Mapping[str, Any] | None, earned_on: date) -> date | None:
    """The day points earned on `earned_on` expire under a campaign's `loyalty_card.expiration_rules`;
    None when the program has no rules (points never expire)."""
    if not rules:
        return None
    if rules.get("period_type") == "FIXED_DAY_OF_YEAR":
        month, day = int(rules.get("fixed_month") or 12), int(rules.get("fixed_day") or 31)
        year = earned_on.year
        candidate = date(year, month, min(day, calendar.monthrange(year, month)[1]))
        if candidate <= earned_on:
            year += 1
            candidate = date(year, month, min(day, calendar.monthrange(year, month)[1]))
        return candidate
    expiry = add_months(earned_on, int(rules.get("period_value") or 1))
    rounding = rules.get("rounding_type")
    if rounding in ROUNDING_MONTHS:
        return end_of_block(expiry, ROUNDING_MONTHS[rounding])
    if rounding == "PARTICULAR_MONTH":
        target = int(rules.get("rounding_value") or 12)
        year = expiry.year if expiry.month <= target else expiry.year + 1
        return end_of_month(date(year, target, 1))
    return expiry


def validate_expiration_rules(rules: Any) -> str | None:
    """What is wrong with `loyalty_card.expiration_rules`, or None."""
    if rules is None:
        return None
    if not isinstance(rules, dict):
        return "loyalty_card.expiration_rules must be an object"
    period_type = rules.get("period_type")
    if period_type not in ("FIXED_DAY_OF_YEAR", "MONTH"):
        return "loyalty_card.expiration_rules.period_type must be one of FIXED_DAY_OF_YEAR, MONTH"
    if period_type == "MONTH":
        value = rules.get("period_value")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return "loyalty_card.expiration_rules.period_value must be a positive integer"
        rounding = rules.get("rounding_type")
        if rounding is not None and rounding not in (*ROUNDING_MONTHS, "PARTICULAR_MONTH"):
            return "loyalty_card.expiration_rules.rounding_type must be one of " + ", ".join(
                [*ROUNDING_MONTHS, "PARTICULAR_MONTH"]
            )
        if rounding == "PARTICULAR_MONTH" and not _int_between(rules.get("rounding_value"), 1, 12):
            return "loyalty_card.expiration_rules.rounding_value must be a month, 1 to 12"
    else:
        if not _int_between(rules.get("fixed_month"), 1, 12):
            return "loyalty_card.expiration_rules.fixed_month must be 1 to 12"
        if not _int_between(rules.get("fixed_day"), 1, 31):
            return "loyalty_card.expiration_rules.fixed_day must be 1 to 31"
    return None


def _int_between(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


# --- Tiers -------------------------------------------------------------------------------------------


class TierPolicy:
    """A campaign's `loyalty_tiers_expiration`, read once.

    - qualification BALANCE: the tier follows the points available; POINTS_IN_PERIOD: the points
      collected (added or earned) in the current qualification period.
    - expiration BALANCE_DROP (or none, or CUSTOM): a tier lasts while the points qualify for it.
      END_OF_PERIOD / END_OF_NEXT_PERIOD: a tier is guaranteed until the end of the period it was
      reached in (or the next one); a drop below it only counts after that day.
    """

    def __init__(self, spec: Mapping[str, Any] | None) -> None:
        spec = spec or {}
        self.qualification = spec.get("qualification_type") or "BALANCE"
        self.period_months = PERIOD_MONTHS.get(spec.get("qualification_period") or "", 0)
        self.expiration = ((spec.get("expiration_date") or {}).get("type")) or "BALANCE_DROP"

    @property
    def by_points_in_period(self) -> bool:
        return self.qualification == "POINTS_IN_PERIOD"

    @property
    def guarantees_period(self) -> bool:
        return self.expiration in ("END_OF_PERIOD", "END_OF_NEXT_PERIOD") and self.period_months > 0

    def period_start(self, day: date) -> date:
        return start_of_block(day, self.period_months or 1)

    def period_end(self, day: date) -> date:
        return end_of_block(day, self.period_months or 1)

    def tier_expiry(self, today: date) -> date | None:
        if not self.guarantees_period:
            return None
        end = self.period_end(today)
        if self.expiration == "END_OF_NEXT_PERIOD":
            end = self.period_end(add_months(end, 1))
        return end


QUALIFICATION_TYPES = ("BALANCE", "POINTS_IN_PERIOD")
QUALIFICATION_PERIODS = tuple(PERIOD_MONTHS)
START_TYPES = ("IMMEDIATE", "NEXT_PERIOD")
EXPIRATION_TYPES = ("END_OF_PERIOD", "END_OF_NEXT_PERIOD", "BALANCE_DROP", "CUSTOM")


def validate_tiers_expiration(spec: Any) -> str | None:
    """What is wrong with a campaign's `loyalty_tiers_expiration`, or None."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        return "loyalty_tiers_expiration must be an object"
    qualification = spec.get("qualification_type")
    if qualification not in QUALIFICATION_TYPES:
        return "loyalty_tiers_expiration.qualification_type must be one of " + ", ".join(QUALIFICATION_TYPES)
    period = spec.get("qualification_period")
    if period is not None and period not in QUALIFICATION_PERIODS:
        return "loyalty_tiers_expiration.qualification_period must be one of " + ", ".join(
            QUALIFICATION_PERIODS
        )
    start = spec.get("start_date")
    if start is not None and (not isinstance(start, dict) or start.get("type") not in START_TYPES):
        return "loyalty_tiers_expiration.start_date.type must be one of " + ", ".join(START_TYPES)
    expiration = spec.get("expiration_date")
    if expiration is not None and (
        not isinstance(expiration, dict) or expiration.get("type") not in EXPIRATION_TYPES
    ):
        return "loyalty_tiers_expiration.expiration_date.type must be one of " + ", ".join(EXPIRATION_TYPES)
    expiration_type = (expiration or {}).get("type")
    if period is None and (
        qualification == "POINTS_IN_PERIOD" or expiration_type in ("END_OF_PERIOD", "END_OF_NEXT_PERIOD")
    ):
        return (
            "loyalty_tiers_expiration.qualification_period is required for points in a period"
            " or a tier held to the end of a period"
        )
    return None
