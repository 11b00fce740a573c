"""What the editor pages post, read back into a channel's template, and the fields they render.

The email editor posts its whole state on every change (no state lives on the server between
requests): top-level fields (`subject`, `preheader`, `mode`, `custom_html`), the fixed sections
(`header-*`, `content-*`, `page-background_color`, `footer-*`) and the body blocks, listed in display
order by hidden `block` inputs whose values are keys, with each block's fields named
`b<key>-<field>`. Drag-and-drop only moves the DOM nodes, so the posted order is the new order.

Text blocks are edited as light markup (`**bold**`, `*italic*`, `[label](https://…)`) and stored as
the design's runs; every value goes to `messaging.email.design` unchanged in meaning, which checks
it (a number typed as "abc" stays a string so the design names the problem next to the field).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from messaging.email.design import ALIGNMENTS, SOCIAL_NETWORKS, TEXT_ALIGNMENTS
from messaging.rendering import METADATA_PREFIX, known_variables

# --- Field descriptions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    widget: str  # text, textarea, number, color, select, checkbox
    choices: tuple[tuple[str, str], ...] = ()
    low: int | None = None
    high: int | None = None
    help: str = ""
    accepts_variables: bool = False


def _choices(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((value, value.title()) for value in values)


def variable_choices() -> tuple[tuple[str, str], ...]:
    """Every variable a template may name, as (name, label), metadata keys left out (they are typed)."""
    return tuple(
        (name, label) for name, label in known_variables().items() if not name.startswith(METADATA_PREFIX)
    )


MARKUP_HELP = "**bold**, *italic*, [link text](https://…); variables from the Insert variable menu."


def _size(low: int, high: int, label: str = "Font size (px)") -> FieldSpec:
    return FieldSpec("size", label, "number", low=low, high=high)


BLOCK_LABELS = {
    "text": "Text",
    "variable": "Variable",
    "image": "Image",
    "button": "Button",
    "divider": "Divider",
    "social": "Social buttons",
}

BLOCK_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "text": (
        FieldSpec("text", "Text", "textarea", help=MARKUP_HELP, accepts_variables=True),
        _size(10, 48),
        FieldSpec("align", "Alignment", "select", _choices(TEXT_ALIGNMENTS)),
        FieldSpec("color", "Text colour", "color"),
    ),
    "variable": (
        FieldSpec("name", "Variable", "select", variable_choices()),
        FieldSpec("fallback", "Fallback when empty", "text"),
        _size(10, 48),
        FieldSpec("align", "Alignment", "select", _choices(TEXT_ALIGNMENTS)),
        FieldSpec("bold", "Bold", "checkbox"),
        FieldSpec("color", "Text colour", "color"),
    ),
    "image": (
        FieldSpec("src", "Image URL", "text", help="https://… (GIFs too) or a link variable."),
        FieldSpec("alt", "Alt text", "text"),
        FieldSpec("width", "Width (px)", "number", low=16, high=800),
        FieldSpec("height", "Height (px, 0 keeps the ratio)", "number", low=0, high=2000),
        FieldSpec("link", "Link", "text", accepts_variables=True),
        FieldSpec("align", "Alignment", "select", _choices(ALIGNMENTS)),
    ),
    "button": (
        FieldSpec("label", "Label", "text", accepts_variables=True),
        FieldSpec("link", "Link", "text", accepts_variables=True),
        FieldSpec("color", "Button colour", "color"),
        FieldSpec("text_color", "Label colour", "color"),
        _size(10, 36),
        FieldSpec("align", "Alignment", "select", _choices(ALIGNMENTS)),
        FieldSpec("radius", "Corner radius (px)", "number", low=0, high=50),
    ),
    "divider": (
        FieldSpec("width", "Width (% of the content)", "number", low=10, high=100),
        FieldSpec("color", "Colour", "color"),
        FieldSpec("thickness", "Thickness (px)", "number", low=1, high=10),
    ),
    "social": (
        *(
            FieldSpec(network, f"{label} link", "text", help="Leave empty to leave it out.")
            for network, label in SOCIAL_NETWORKS.items()
        ),
        FieldSpec("align", "Alignment", "select", _choices(ALIGNMENTS)),
        FieldSpec("icon_size", "Icon size (px)", "number", low=16, high=64),
    ),
}

# The fixed sections around the body: (scope, design key path, fields).
SECTION_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "header": (
        FieldSpec("logo", "Logo URL", "text", help="Empty: no header."),
        FieldSpec("logo_alt", "Logo alt text", "text"),
        FieldSpec("logo_width", "Logo width (px)", "number", low=16, high=800),
        FieldSpec("logo_link", "Logo link", "text"),
        FieldSpec("background_color", "Header background", "color"),
        FieldSpec("align", "Logo alignment", "select", _choices(ALIGNMENTS)),
    ),
    "page": (FieldSpec("background_color", "Page background", "color"),),
    "content": (
        FieldSpec("width", "Content width (px)", "number", low=480, high=800),
        FieldSpec("background_color", "Content background", "color"),
        FieldSpec("border_width", "Border width (px)", "number", low=0, high=10),
        FieldSpec("border_color", "Border colour", "color"),
        FieldSpec("border_radius", "Corner radius (px)", "number", low=0, high=30),
    ),
    "footer": (
        FieldSpec("text", "Footer text", "textarea", help="Your address, why they get this email."),
        FieldSpec("unsubscribe_label", "Unsubscribe link label", "text"),
        FieldSpec("background_color", "Footer background", "color"),
        FieldSpec("text_color", "Footer text colour", "color"),
        FieldSpec("link_color", "Link colour", "color"),
    ),
}

NEW_BLOCKS: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "runs": [{"text": "Write your text here."}]},
    "variable": {"type": "variable", "name": "customer.first_name", "fallback": "friend"},
    "image": {"type": "image", "src": "https://example.com/images/banner.png", "alt": "Banner"},
    "button": {"type": "button", "label": "Shop now", "link": "https://example.com/shop"},
    "divider": {"type": "divider"},
    "social": {"type": "social", "networks": [{"network": "facebook", "url": "https://www.facebook.com/"}]},
}

# --- Text markup ----------------------------------------------------------------------------------

_MARKUP = re.compile(
    r"\*\*(?P<bold>.+?)\*\*|\*(?P<italic>[^*\s][^*]*?)\*|\[(?P<label>[^\]]+)\]\((?P<link>[^)\s]+)\)"
)


def markup_to_runs(markup: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    position = 0
    for match in _MARKUP.finditer(markup):
        if match.start() > position:
            runs.append({"text": markup[position : match.start()]})
        if match.group("bold") is not None:
            runs.append({"text": match.group("bold"), "bold": True})
        elif match.group("italic") is not None:
            runs.append({"text": match.group("italic"), "italic": True})
        else:
            runs.append({"text": match.group("label"), "link": match.group("link")})
        position = match.end()
    if position < len(markup):
        runs.append({"text": markup[position:]})
    return runs


def runs_to_markup(runs: Any) -> str:
    if not isinstance(runs, list):
        return ""
    parts = []
    for run in runs:
        if not isinstance(run, dict):
            continue
        text = str(run.get("text", ""))
        if run.get("link"):
            text = f"[{text}]({run['link']})"
        elif run.get("bold"):
            text = f"**{text}**"
        elif run.get("italic"):
            text = f"*{text}*"
        parts.append(text)
    return "".join(parts)


# --- Email state ----------------------------------------------------------------------------------


@dataclass
class EmailState:
    """The email editor's content as it stands in the page (valid or not)."""

    subject: str = ""
    preheader: str = ""
    mode: str = "design"  # or "html"
    custom_html: str = ""
    design: dict[str, Any] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # the posted block keys, in display order
    header_open: bool = False  # the marketer opened the header section: it stays open

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.design.setdefault("body", [])

    def content(self) -> dict[str, Any]:
        """The email channel's content as messaging saves it."""
        content: dict[str, Any] = {"subject": self.subject, "preheader": self.preheader}
        if self.mode == "html":
            content["custom_html"] = self.custom_html
        else:
            content["design"] = self.design
        return content

    def renumber(self) -> None:
        self.keys = [str(index) for index in range(len(self.blocks))]


CUSTOM_HTML_START = (
    "<h1>Hello {{ customer.first_name | there }}</h1>\n"
    "<p>Your code: <strong>{{ voucher.code }}</strong></p>\n"
    '<p><a href="{{ unsubscribe.url }}">Unsubscribe</a></p>\n'
)


def email_state_from_template(template: dict[str, Any]) -> EmailState:
    """The editor state of a saved channel template (the plain subject + body form included)."""
    state = EmailState(subject=str(template.get("subject", "")), preheader=str(template.get("preheader", "")))
    if "custom_html" in template:
        state.mode, state.custom_html = "html", str(template["custom_html"])
    elif isinstance(template.get("design"), dict):
        state.design = json.loads(json.dumps(template["design"]))
    else:
        body = str(template.get("body", ""))
        state.design = {"body": [{"type": "text", "runs": [{"text": body}]}] if body else []}
    if not isinstance(state.design.get("body"), list):
        state.design["body"] = []
    state.renumber()
    return state


def _number(raw: str) -> int | str:
    raw = raw.strip()
    return int(raw) if re.fullmatch(r"-?\d{1,6}", raw) else raw


def _read(spec: FieldSpec, data: QueryDict, name: str) -> tuple[bool, Any]:
    """(present, value) of one posted field; absent numbers and colours keep the design's default."""
    if spec.widget == "checkbox":
        return True, name in data
    if name not in data:
        return False, None
    raw = data.get(name, "")
    if spec.widget == "number":
        return (raw.strip() != ""), _number(raw)
    return True, raw


def _read_block(kind: str, key: str, data: QueryDict) -> dict[str, Any]:
    block: dict[str, Any] = {"type": kind}
    networks = []
    for spec in BLOCK_FIELDS[kind]:
        present, value = _read(spec, data, f"b{key}-{spec.name}")
        if not present:
            continue
        if kind == "text" and spec.name == "text":
            block["runs"] = markup_to_runs(value)
        elif kind == "social" and spec.name in SOCIAL_NETWORKS:
            if value.strip():
                networks.append({"network": spec.name, "url": value.strip()})
        else:
            block[spec.name] = value
    if kind == "social":
        block["networks"] = networks
    return block


def _read_section(scope: str, data: QueryDict) -> dict[str, Any]:
    values = {}
    for spec in SECTION_FIELDS[scope]:
        present, value = _read(spec, data, f"{scope}-{spec.name}")
        if present:
            values[spec.name] = value
    return values


def email_state_from_post(data: QueryDict) -> EmailState:
    state = EmailState(
        subject=data.get("subject", ""),
        preheader=data.get("preheader", ""),
        mode="html" if data.get("mode") == "html" else "design",
        custom_html=data.get("custom_html", ""),
        header_open=bool(data.get("header_open")),
    )
    body = []
    for key in data.getlist("block"):
        kind = data.get(f"b{key}-type", "")
        if kind in BLOCK_FIELDS:
            body.append(_read_block(kind, key, data))
            state.keys.append(key)
    content = _read_section("content", data)
    border = {
        name.removeprefix("border_"): content.pop(name)
        for name in ("border_width", "border_color", "border_radius")
        if name in content
    }
    if border:
        content["border"] = border
    state.design = {
        "header": _read_section("header", data),
        "content": content,
        "footer": _read_section("footer", data),
        "body": body,
    }
    page = _read_section("page", data)
    if "background_color" in page:
        state.design["background_color"] = page["background_color"]
    if state.mode == "html" and not state.custom_html and "custom_html" not in data:
        state.custom_html = CUSTOM_HTML_START
    return state


class OperationInvalid(ValueError):
    pass


def apply_operation(state: EmailState, operation: str) -> int | None:
    """Change the state as the clicked button asks; returns the position to focus afterwards.

    `add:<type>`, `up:<position>`, `down:<position>`, `remove:<position>`, `mode:design|html`.
    """
    verb, _, argument = operation.partition(":")
    blocks = state.blocks
    if verb == "add":
        if argument not in NEW_BLOCKS:
            raise OperationInvalid(f"Unknown block type {argument!r}.")
        blocks.append(json.loads(json.dumps(NEW_BLOCKS[argument])))
        state.renumber()
        return len(blocks) - 1
    if verb == "mode":
        state.mode = "html" if argument == "html" else "design"
        if state.mode == "html" and not state.custom_html:
            state.custom_html = CUSTOM_HTML_START
        return None
    if verb in ("up", "down", "remove"):
        if not re.fullmatch(r"\d+", argument) or int(argument) >= len(blocks):
            raise OperationInvalid("That block is no longer there; reload the editor.")
        position = int(argument)
        if verb == "remove":
            blocks.pop(position)
            state.renumber()
            return min(position, len(blocks) - 1) if blocks else None
        target = position - 1 if verb == "up" else position + 1
        if 0 <= target < len(blocks):
            blocks[position], blocks[target] = blocks[target], blocks[position]
        state.renumber()
        return max(0, min(target, len(blocks) - 1))
    raise OperationInvalid(f"Unknown change {operation!r}.")


# --- Problems next to their field -----------------------------------------------------------------

_BODY_PATH = re.compile(r"body\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\])?")
FRIENDLIER = {
    "runs": "Write some text.",
    "networks": "Give at least one profile link.",
}


def email_field_problems(state: EmailState, problems: dict[str, list[str]]) -> dict[str, list[str]]:
    """The design's problems (`body[2].runs[0].link`, `content.border.width`) keyed by form field name
    (`b2-text`, `content-border_width`); a problem of a whole block goes under `b<key>`."""
    found: dict[str, list[str]] = {}

    def add(name: str, messages: list[str]) -> None:
        found.setdefault(name, []).extend(messages)

    for path, messages in problems.items():
        match = _BODY_PATH.match(path)
        if match:
            position, part, index = int(match.group(1)), match.group(2), match.group(3)
            key = state.keys[position] if position < len(state.keys) else str(position)
            block = state.blocks[position] if position < len(state.blocks) else {}
            if part is None:
                add(f"b{key}", messages)
            elif part == "runs":
                add(f"b{key}-text", [FRIENDLIER["runs"]] if index is None else messages)
            elif part == "networks":
                if index is None:
                    add(f"b{key}-linkedin", [FRIENDLIER["networks"]])
                else:
                    network = block.get("networks", [{}] * (int(index) + 1))[int(index)].get("network", "")
                    add(f"b{key}-{network}" if network else f"b{key}", messages)
            else:
                add(f"b{key}-{part}", messages)
        elif path.startswith("content.border."):
            add("content-border_" + path.removeprefix("content.border."), messages)
        elif path.startswith(("header.", "footer.", "content.")):
            scope, _, name = path.partition(".")
            add(f"{scope}-{name}", messages)
        elif path == "background_color":
            add("page-background_color", messages)
        elif path in ("header", "footer", "content"):
            add(f"{path}-{SECTION_FIELDS[path][0].name}", messages)
        elif path in ("design", "body", ""):
            add("blocks", messages)
        else:
            add(path, messages)
    return found


# --- SMS, webhook and integrations ------------------------------------------------------------------


def fields_from_lines(text: str, *, label: str) -> tuple[dict[str, str], list[str]]:
    """`NAME = value` lines as a mapping (the Mailchimp merge fields, the Braze attributes)."""
    fields: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            problems.append(f"Line {number}: write {label} = value.")
            continue
        fields[name.strip()] = value.strip()
    return fields, problems


def lines_from_fields(fields: Any) -> str:
    if not isinstance(fields, dict):
        return ""
    return "\n".join(f"{name} = {value}" for name, value in fields.items())


def payload_from_text(text: str) -> tuple[Any, list[str]]:
    """The webhook payload design typed as JSON; an object, or the problem with where it is."""
    if not text.strip():
        return {}, []
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [f"Not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."]
    if not isinstance(payload, dict):
        return None, ["The payload must be a JSON object ({ … })."]
    return payload, []
