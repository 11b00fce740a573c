"""The template lint run at Save & Send: what would make this send go wrong, before it goes.

Errors block sending; warnings are shown and may be accepted:
- error: an email without the unsubscribe link (designs always have it; custom HTML is checked at
  save too, so this catches content saved before the rule);
- error: an action that hands out a code (`carries_code`) whose template shows no code (neither
  `voucher.code` nor its QR code or barcode);
- warning: a variable without a fallback that may be empty for some customers (customer fields,
  metadata, loyalty, gift and reward values). Variables every message has (the code of a code action,
  the message id, the links we build) need none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from messaging.rendering import Placeholder, TemplateError, compile_text

CODE_VARIABLES = {"voucher.code", "voucher.qr_url", "voucher.barcode_url"}
ALWAYS_PRESENT = {"message.id", "unsubscribe.url", "customer.cockpit_url", "customer.id"}


@dataclass(frozen=True)
class LintFinding:
    level: str  # "error" blocks Save & Send; "warning" is shown
    code: str
    message: str


def _sources(channel: str, content: dict[str, Any]) -> Iterable[str]:
    if channel == "email":
        compiled = content.get("compiled", {})
        yield content.get("subject", "")
        yield content.get("preheader", "")
        yield from compiled.get("placeholders", [])
        yield compiled.get("text", "")
        return

    def walk(node: Any) -> Iterable[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk(content)


def _placeholders(channel: str, content: dict[str, Any]) -> list[Placeholder]:
    found = []
    for source in _sources(channel, content):
        try:
            found.extend(part for part in compile_text(source).parts if isinstance(part, Placeholder))
        except TemplateError:
            continue  # saved content compiled once already; a stray brace in a webhook value is text
    return found


# A missing value is worth a warning where a person reads the message; a webhook, Mailchimp or Braze
# payload is read by the receiver's code, which gets an empty value it can handle.
READ_BY_PEOPLE = ("email", "sms")


def template_lint(*, channel: str, content: dict[str, Any], carries_code: bool) -> list[LintFinding]:
    placeholders = _placeholders(channel, content)
    names = {p.name for p in placeholders}
    findings: list[LintFinding] = []
    if channel == "email" and "unsubscribe.url" not in names:
        findings.append(
            LintFinding(
                "error", "missing_unsubscribe", "The email has no unsubscribe link ({{ unsubscribe.url }})."
            )
        )
    if carries_code and not names & CODE_VARIABLES:
        findings.append(
            LintFinding(
                "error",
                "missing_code",
                "This action sends each customer a code, but the template never shows it "
                "({{ voucher.code }}).",
            )
        )
    if channel not in READ_BY_PEOPLE:
        return findings
    exempt = ALWAYS_PRESENT | (CODE_VARIABLES if carries_code else set())
    seen: set[str] = set()
    for placeholder in placeholders:
        if placeholder.fallback is None and placeholder.name not in exempt and placeholder.name not in seen:
            seen.add(placeholder.name)
            findings.append(
                LintFinding(
                    "warning",
                    "no_fallback",
                    f"{{{{ {placeholder.name} }}}} has no fallback: customers without it see nothing there.",
                )
            )
    return findings


def template_lint_errors(findings: list[LintFinding]) -> list[LintFinding]:
    return [finding for finding in findings if finding.level == "error"]
