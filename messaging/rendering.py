"""The one variable renderer, for every channel: webhook payloads now, email and SMS bodies later.

Syntax: `{{ name }}` or `{{ name | fallback }}`. `name` is one of the closed set below (or
`customer.metadata.<key>`); the fallback is literal text up to the closing braces and is used when
the value is missing, null or empty. Anything else between braces is an error at save time, naming
the variable and listing the known ones.

Sandboxed by construction: a name is looked up in the table below and resolved by its own small
function (a customer column, or a key of the message's `variables`); nothing calls `getattr` with a
name from a template, so `{{ customer.__class__ }}` is simply an unknown variable.

Compile once, render many: `compile_text` / `compile_payload` parse and validate a template and
return a compiled form whose `render(context)` costs a list walk per message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class TemplateError(ValueError):
    """A template that cannot be saved: unknown variables or broken placeholders, all named."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class RenderContext:
    """What one message renders from: the customer row and the message's own variables.

    `project` and `channel` let the link variables (unsubscribe, cockpit, code images) be built
    when the message did not bring them; without them those variables render their fallback.
    """

    customer: Any
    variables: Mapping[str, Any]
    project: Any = None
    channel: str = ""


def _customer_field(field_name: str) -> Callable[[RenderContext], Any]:
    return lambda context: getattr(context.customer, field_name, None)


def _first_name(context: RenderContext) -> str:
    name = (getattr(context.customer, "name", "") or "").strip()
    return name.split()[0] if name else ""


def _message_value(name: str) -> Callable[[RenderContext], Any]:
    return lambda context: context.variables.get(name)


def _unsubscribe_url(context: RenderContext) -> Any:
    from messaging.links import unsubscribe_url

    given = context.variables.get("unsubscribe.url")
    if given or context.project is None or context.customer is None:
        return given
    return unsubscribe_url(context.project, context.customer, context.channel or "email")


def _cockpit_url(context: RenderContext) -> Any:
    from messaging.links import cockpit_url

    given = context.variables.get("customer.cockpit_url")
    if given or context.project is None or context.customer is None:
        return given
    return cockpit_url(context.project, context.customer)


def _code_asset(kind: str) -> Callable[[RenderContext], Any]:
    """The signed image URL of the message's code (served by campaigns' voucher-asset view)."""
    name = f"voucher.{kind}_url"

    def resolve(context: RenderContext) -> Any:
        given = context.variables.get(name)
        code = context.variables.get("voucher.code")
        if given or not code or context.project is None:
            return given
        from messaging.links import code_image_url

        return code_image_url(context.project, code, kind)

    return resolve


CUSTOMER_VARIABLES: dict[str, tuple[str, Callable[[RenderContext], Any]]] = {
    "customer.id": ("Customer id", _customer_field("public_id")),
    "customer.source_id": ("Customer source id", _customer_field("source_id")),
    "customer.name": ("Customer name", _customer_field("name")),
    "customer.first_name": ("Customer first name", _first_name),
    "customer.email": ("Customer email", _customer_field("email")),
    "customer.phone": ("Customer phone", _customer_field("phone")),
    "customer.city": ("Customer city", _customer_field("address_city")),
}

# Values the message's owner supplies per message in `Message.variables` (the code it published,
# the event that caused it, ...), under these exact names.
MESSAGE_VARIABLES: dict[str, str] = {
    "message.id": "Message id (the delivery key)",
    "voucher.code": "Code",
    "voucher.qr_url": "QR code image URL",
    "voucher.barcode_url": "Barcode image URL",
    "voucher.expiration_date": "Code expiry",
    "voucher.discount": "Discount value",
    "campaign.id": "Campaign id",
    "campaign.name": "Campaign name",
    "publication.id": "Publication id",
    "promotion_tier.name": "Promotion tier name",
    "promotion_tier.banner": "Promotion tier banner",
    "gift.credits_added": "Gift credits added",
    "gift.balance": "Gift credits balance",
    "loyalty.points_added": "Loyalty points added",
    "loyalty.points_balance": "Loyalty points balance",
    "loyalty.tier": "Loyalty tier",
    "reward.name": "Reward name",
    "reward.value": "Reward value",
    "referral.reward": "Referral reward",
    "customer.cockpit_url": "Customer cockpit link",
    "order.id": "Order id",
    "order.amount": "Order amount",
    "segment.name": "Segment name",
    "event.id": "Event id",
    "event.type": "Event type",
    "event.created_at": "Event time",
}

# Derived when the message does not carry them (see the resolvers above).
DERIVED_VARIABLES: dict[str, tuple[str, Callable[[RenderContext], Any]]] = {
    "unsubscribe.url": ("Unsubscribe link", _unsubscribe_url),
    "customer.cockpit_url": ("Customer cockpit link", _cockpit_url),
    "voucher.qr_url": ("QR code image URL", _code_asset("qr")),
    "voucher.barcode_url": ("Barcode image URL", _code_asset("barcode")),
}

METADATA_PREFIX = "customer.metadata."
_METADATA_KEY = re.compile(r"[A-Za-z0-9_\-]{1,100}")


def known_variables() -> dict[str, str]:
    """Name → label of every variable a template may use (metadata keys as one pattern)."""
    labels = {name: label for name, (label, _) in CUSTOMER_VARIABLES.items()}
    labels.update(MESSAGE_VARIABLES)
    labels.update({name: label for name, (label, _) in DERIVED_VARIABLES.items()})
    labels[METADATA_PREFIX + "<key>"] = "Customer metadata value"
    return labels


def _resolver(name: str) -> Callable[[RenderContext], Any] | None:
    if name in CUSTOMER_VARIABLES:
        return CUSTOMER_VARIABLES[name][1]
    if name in DERIVED_VARIABLES:
        return DERIVED_VARIABLES[name][1]
    if name in MESSAGE_VARIABLES:
        return _message_value(name)
    if name.startswith(METADATA_PREFIX) and _METADATA_KEY.fullmatch(name.removeprefix(METADATA_PREFIX)):
        key = name.removeprefix(METADATA_PREFIX)
        return lambda context: (getattr(context.customer, "metadata", None) or {}).get(key)
    return None


_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class Placeholder:
    name: str
    fallback: str | None
    resolve: Callable[[RenderContext], Any]

    def value(self, context: RenderContext) -> Any:
        value = self.resolve(context)
        if value is None or value == "":
            return self.fallback if self.fallback is not None else ""
        return value


class CompiledText:
    """A string template as literal parts and placeholders, in order."""

    def __init__(self, parts: list[str | Placeholder]) -> None:
        self.parts = parts
        self.variables = [part.name for part in parts if isinstance(part, Placeholder)]
        # A string that is exactly one placeholder keeps the value's own type in a JSON payload.
        self.single = parts[0] if len(parts) == 1 and isinstance(parts[0], Placeholder) else None

    def render(self, context: RenderContext) -> str:
        # A list, not a generator: `join` builds one from a generator anyway, more slowly.
        return "".join(
            [part if part.__class__ is str else _as_text(part.value(context)) for part in self.parts]
        )

    def render_value(self, context: RenderContext) -> Any:
        return self.single.value(context) if self.single is not None else self.render(context)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(source: str, where: str, problems: list[str]) -> list[str | Placeholder]:
    parts: list[str | Placeholder] = []
    position = 0
    for match in _PLACEHOLDER.finditer(source):
        if match.start() > position:
            parts.append(source[position : match.start()])
        name, bar, fallback = match.group(1).partition("|")
        name = name.strip()
        resolve = _resolver(name)
        if resolve is None:
            label = f"{{{{{name}}}}}" if name else "{{}}"
            problems.append(f"Unknown variable {label}{where}.")
        else:
            parts.append(Placeholder(name, fallback.strip() if bar else None, resolve))
        position = match.end()
    rest = source[position:]
    if "{{" in rest or "}}" in rest:
        problems.append(f"Unclosed or stray braces{where}: {rest.strip()[:40]!r}.")
    if rest:
        parts.append(rest)
    return parts


def compile_text(source: str) -> CompiledText:
    """Parse a text template; raise `TemplateError` naming every unknown variable."""
    problems: list[str] = []
    parts = _parse(source, "", problems)
    if problems:
        raise TemplateError(problems)
    return CompiledText(parts)


class CompiledPayload:
    """A JSON design (nested objects and lists) whose strings may hold placeholders."""

    def __init__(self, tree: Any, variables: list[str]) -> None:
        self.tree = tree
        self.variables = variables

    def render(self, context: RenderContext) -> Any:
        return _render_tree(self.tree, context)


def _render_tree(node: Any, context: RenderContext) -> Any:
    if isinstance(node, CompiledText):
        return node.render_value(context)
    if isinstance(node, dict):
        return {key: _render_tree(value, context) for key, value in node.items()}
    if isinstance(node, list):
        return [_render_tree(value, context) for value in node]
    return node


MAX_PAYLOAD_DEPTH = 8


def _compile_tree(node: Any, path: str, depth: int, problems: list[str], variables: list[str]) -> Any:
    if depth > MAX_PAYLOAD_DEPTH:
        problems.append(f"The payload is nested deeper than {MAX_PAYLOAD_DEPTH} levels at {path}.")
        return None
    if isinstance(node, str):
        parts = _parse(node, f" at {path}", problems)
        compiled = CompiledText(parts)
        variables.extend(compiled.variables)
        return compiled if compiled.variables else node
    if isinstance(node, dict):
        return {
            key: _compile_tree(value, f"{path}.{key}" if path else key, depth + 1, problems, variables)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [
            _compile_tree(value, f"{path}[{index}]", depth + 1, problems, variables)
            for index, value in enumerate(node)
        ]
    if node is None or isinstance(node, bool | int | float):
        return node
    problems.append(f"Unsupported value at {path}.")
    return None


def compile_payload(design: Any) -> CompiledPayload:
    """Parse a payload design; raise `TemplateError` naming every unknown variable with its key path."""
    problems: list[str] = []
    variables: list[str] = []
    tree = _compile_tree(design, "", 0, problems, variables)
    if problems:
        raise TemplateError(problems)
    return CompiledPayload(tree, variables)
