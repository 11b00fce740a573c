"""Delivery's array parameters, written as PostgreSQL array literals, read back as the same values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from messaging.rows import bool_array, int_array, text_array, time_array

pytestmark = pytest.mark.django_db


def read_back(sql: str, literal: str):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s{sql}", [literal])
        return cursor.fetchone()[0]


def test_texts_with_quotes_backslashes_braces_commas_and_nulls_read_back_unchanged():
    texts = ['say "hi"', "C:\\path\\", "it's", None, "", "NULL", "{a,b}", " padded ", "ü€\n\t✓", 'a\\"b']

    assert read_back("::text[]", text_array(texts)) == texts


def test_times_in_any_offset_read_back_as_the_same_instants():
    times = [
        datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC),
        None,
        datetime(2026, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=-5))),
    ]

    assert read_back("::timestamptz[]", time_array(times)) == times


def test_integers_booleans_and_empty_arrays_read_back_unchanged():
    assert read_back("::bigint[]", int_array([1, None, 2**40])) == [1, None, 2**40]
    assert read_back("::bool[]", bool_array([True, False])) == [True, False]
    assert read_back("::bigint[]", int_array([])) == []
