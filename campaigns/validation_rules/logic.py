"""The `logic` expression of a validation rule: `1 and (2 or not 3)`, parsed without `eval`.

Grammar (lowest precedence first; `and`, `or`, `not` in any case):

    expression := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expression ")" | NUMBER

The parser is a small recursive descent over a token list, bounded in length and nesting, so a
hostile expression costs at most a few thousand steps and never reaches Python's recursion limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

MAX_LOGIC_LENGTH = 2_000
MAX_NESTING = 32

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+)|(?P<word>[A-Za-z]+)|(?P<symbol>[()])|(?P<other>\S))")


class InvalidLogic(ValueError):
    """The expression is not well formed, or names a rule that does not exist."""


@dataclass(frozen=True)
class Rule:
    """A reference to rule `number` (the key `"1"`, `"2"`... of the rules JSON)."""

    number: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Rule | Not | And | Or


def _tokens(text: str) -> list[str]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # only trailing whitespace is left
            break
        position = match.end()
        if match["number"] is not None:
            tokens.append(str(int(match["number"])))
        elif match["word"] is not None:
            word = match["word"].lower()
            if word not in ("and", "or", "not"):
                raise InvalidLogic(
                    f"unknown word {match['word']!r}: use and, or, not, parentheses and rule numbers"
                )
            tokens.append(word)
        elif match["symbol"] is not None:
            tokens.append(match["symbol"])
        else:
            raise InvalidLogic(f"unexpected character {match['other']!r}")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str], rule_numbers: Collection[str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0
        self.rule_numbers = rule_numbers

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.position += 1
        return token

    def expression(self) -> Node:
        operands = [self.term()]
        while self.peek() == "or":
            self.take()
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def term(self) -> Node:
        operands = [self.factor()]
        while self.peek() == "and":
            self.take()
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def factor(self) -> Node:
        token = self.take()
        if token is None:
            raise InvalidLogic("the expression ends where a rule number, not or ( was expected")
        if token in ("not", "("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise InvalidLogic(f"the expression nests deeper than {MAX_NESTING} levels")
            if token == "not":  # noqa: S105 (a keyword of the grammar, not a secret)
                node: Node = Not(self.factor())
            else:
                node = self.expression()
                if self.take() != ")":
                    raise InvalidLogic("a ( is not closed")
            self.depth -= 1
            return node
        if token.isdigit():
            if token not in self.rule_numbers:
                raise InvalidLogic(f"rule {token} is not defined")
            return Rule(token)
        raise InvalidLogic(f"unexpected {token!r} where a rule number, not or ( was expected")


def parse_logic(text: str, rule_numbers: Collection[str]) -> Node:
    """The expression's tree; raises `InvalidLogic` naming what is wrong.

    `rule_numbers`: the keys of the rules JSON (`{"1", "2"}`); a number outside them is refused.
    """
    if not isinstance(text, str):
        raise InvalidLogic("logic must be a string")
    if len(text) > MAX_LOGIC_LENGTH:
        raise InvalidLogic(f"logic is longer than {MAX_LOGIC_LENGTH} characters")
    tokens = _tokens(text)
    if not tokens:
        raise InvalidLogic("logic is empty")
    parser = _Parser(tokens, set(rule_numbers))
    tree = parser.expression()
    if parser.position < len(tokens):
        raise InvalidLogic(f"unexpected {tokens[parser.position]!r} after a complete expression")
    return tree


def rules_in(node: Node) -> list[str]:
    """The rule numbers of `node`, left to right (a rule named twice appears twice)."""
    if isinstance(node, Rule):
        return [node.number]
    if isinstance(node, Not):
        return rules_in(node.operand)
    return [number for operand in node.operands for number in rules_in(operand)]


def evaluate_logic(node: Node, rule_passes: Callable[[str], bool]) -> tuple[bool, str | None]:
    """Whether the expression holds, and if not, the rule to blame: the first rule (left to right)
    of the operand that made it fail. Short-circuits like Python, so `rule_passes` runs only for the
    rules that decide the result (it should cache if a rule is expensive)."""
    if isinstance(node, Rule):
        passed = rule_passes(node.number)
        return passed, None if passed else node.number
    if isinstance(node, Not):
        passed, _ = evaluate_logic(node.operand, rule_passes)
        return (not passed), (rules_in(node.operand)[0] if passed else None)
    if isinstance(node, And):
        for operand in node.operands:
            passed, culprit = evaluate_logic(operand, rule_passes)
            if not passed:
                return False, culprit
        return True, None
    first_culprit = None
    for operand in node.operands:
        passed, culprit = evaluate_logic(operand, rule_passes)
        if passed:
            return True, None
        first_culprit = first_culprit or culprit
    return False, first_culprit
