"""The `logic` expression of a rule set: parsed by a small grammar, never by `eval`."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.validation_rules.logic import (
    MAX_NESTING,
    And,
    InvalidLogic,
    Not,
    Or,
    Rule,
    evaluate_logic,
    parse_logic,
)

NUMBERS = {"1", "2", "3", "4"}


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("1", Rule("1")),
        ("1 and 2", And((Rule("1"), Rule("2")))),
        ("1 AND 2 And 3", And((Rule("1"), Rule("2"), Rule("3")))),
        ("1 or 2", Or((Rule("1"), Rule("2")))),
        # and binds tighter than or, not tighter than and
        ("1 or 2 and 3", Or((Rule("1"), And((Rule("2"), Rule("3")))))),
        ("1 and 2 or 3", Or((And((Rule("1"), Rule("2"))), Rule("3")))),
        ("not 1 and 2", And((Not(Rule("1")), Rule("2")))),
        ("not (1 and 2)", Not(And((Rule("1"), Rule("2"))))),
        ("1 and (2 or 3)", And((Rule("1"), Or((Rule("2"), Rule("3")))))),
        ("((1))", Rule("1")),
        ("not not 1", Not(Not(Rule("1")))),
        ("(1)and(2)", And((Rule("1"), Rule("2")))),
        ("  01  ", Rule("1")),
    ],
)
def test_good_expressions_parse_with_and_binding_tighter_than_or(text, tree):
    assert parse_logic(text, NUMBERS) == tree


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "logic is empty"),
        ("   ", "logic is empty"),
        ("5", "rule 5 is not defined"),
        ("1 and 5", "rule 5 is not defined"),
        ("1 and", "the expression ends"),
        ("and 1", "unexpected 'and'"),
        ("1 2", "unexpected '2' after a complete expression"),
        ("(1 and 2", "a ( is not closed"),
        ("1 and 2)", "unexpected ')' after a complete expression"),
        ("()", "unexpected ')'"),
        ("1 xor 2", "unknown word 'xor'"),
        ("1 && 2", "unexpected character '&'"),
        ("__import__('os')", "unexpected character '_'"),
        ("1 and not", "the expression ends"),
        ("(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1), "nests deeper"),
        ("not " * (MAX_NESTING + 1) + "1", "nests deeper"),
        ("1 or " * 500 + "1", "longer than"),
    ],
)
def test_bad_expressions_are_refused_naming_what_is_wrong(text, complaint):
    with pytest.raises(InvalidLogic, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        parse_logic(text, NUMBERS)


def test_a_non_string_logic_is_refused():
    with pytest.raises(InvalidLogic, match="must be a string"):
        parse_logic(12, NUMBERS)


@pytest.mark.parametrize(
    ("text", "python"),
    [
        ("1 and (2 or 3)", "r1 and (r2 or r3)"),
        ("1 or 2 and 3", "r1 or r2 and r3"),
        ("not 1 or 2", "not r1 or r2"),
        ("not (1 or 2) and 3", "not (r1 or r2) and r3"),
        ("1 and 2 and not 3 or 4", "r1 and r2 and not r3 or r4"),
    ],
)
def test_evaluation_agrees_with_boolean_algebra_for_every_assignment(text, python):
    tree = parse_logic(text, NUMBERS)
    for values in itertools.product([True, False], repeat=4):
        truth = dict(zip(("1", "2", "3", "4"), values, strict=True))
        expected = eval(python, {}, {f"r{n}": v for n, v in truth.items()})  # noqa: S307 (test oracle, constant text)

        passed, culprit = evaluate_logic(tree, truth.__getitem__)

        assert passed is expected
        assert (culprit is None) is passed


def test_the_culprit_is_the_first_failing_rule_of_the_deciding_operand():
    tree = parse_logic("1 and (2 or 3)", NUMBERS)
    truth = {"1": True, "2": False, "3": False, "4": True}

    assert evaluate_logic(tree, truth.__getitem__) == (False, "2")
    assert evaluate_logic(tree, {**truth, "1": False}.__getitem__) == (False, "1")


def test_evaluation_short_circuits_so_expensive_rules_run_only_when_needed():
    asked = []

    def passes(number):
        asked.append(number)
        return number != "1"

    evaluate_logic(parse_logic("1 and 2 and 3", NUMBERS), passes)

    assert asked == ["1"]


@given(st.text(alphabet="1234 ()andortxyz", max_size=60))
def test_any_text_either_parses_or_is_refused_cleanly(text):
    try:
        tree = parse_logic(text, NUMBERS)
    except InvalidLogic:
        return
    passed, _ = evaluate_logic(tree, lambda number: number in {"1", "3"})
    assert isinstance(passed, bool)
