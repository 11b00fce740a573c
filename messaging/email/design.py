"""An email design as blocks: checked field by field, normalised, and written out as MJML.

A design is `{"header", "body": [blocks], "footer", "content", "background_color"}`. Every problem
is reported against its place (`body[2].link`, `footer.text`), all at once. Text is structured (runs
with bold, italic and a link) rather than free HTML, so a design cannot smuggle markup: every string
is escaped when it becomes MJML, and variables (`{{ name | fallback }}`) stay as they are until the
compiler swaps them for markers.

The footer always carries the unsubscribe link (`{{ unsubscribe.url }}`): a design cannot drop it.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

ALIGNMENTS = ("left", "center", "right")
TEXT_ALIGNMENTS = (*ALIGNMENTS, "justify")
SOCIAL_NETWORKS = {
    "linkedin": "LinkedIn",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "x": "X",
    "youtube": "YouTube",
}
# mjml's built-in social icons; X still goes by its old name there.
# mjml's built-in social icons, as profile links ("-noshare"), not share dialogs; X still goes by
# its old name there.
_MJML_NETWORK = {
    "linkedin": "linkedin-noshare",
    "facebook": "facebook-noshare",
    "instagram": "instagram",
    "x": "twitter-noshare",
    "youtube": "youtube",
}
URL_VARIABLES = (
    "unsubscribe.url",
    "customer.cockpit_url",
    "voucher.qr_url",
    "voucher.barcode_url",
    "promotion_tier.banner",
)
MAX_BLOCKS = 60
MAX_TEXT = 5000
MAX_INLINE_IMAGE_BYTES = 200 * 1024
MAX_IMAGE_HEIGHT = 2000
CONTENT_WIDTHS = (480, 800)
UNSUBSCRIBE_PLACEHOLDER = "{{ unsubscribe.url }}"

_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_URL_VARIABLE = re.compile(
    r"\{\{\s*(" + "|".join(re.escape(v) for v in URL_VARIABLES) + r")\s*(\|[^}]*)?\}\}"
)
_DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg);base64,([A-Za-z0-9+/=]+)")


class DesignProblems:
    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}

    def add(self, where: str, message: str) -> None:
        self.problems.setdefault(where, []).append(message)


def link_problem(value: str) -> str | None:
    """Why a link may not go in an email (None when it may): http(s), mailto, or a URL variable."""
    stripped = value.strip()
    lowered = re.sub(r"[\s\x00-\x1f]", "", stripped).lower()
    if lowered.startswith(("javascript:", "vbscript:", "data:")):
        return f"Unsafe link {stripped[:40]!r}: only http(s), mailto or a link variable."
    if _URL_VARIABLE.fullmatch(stripped):
        return None
    # Variables may fill part of a link whose scheme is written out (`https://shop/?c={{ voucher.code }}`).
    literal = re.sub(r"\{\{.*?\}\}", "x", stripped)
    if re.match(r"(https?://[^\s<>\"{}]+|mailto:[^\s<>\"{}]+)\Z", literal):
        return None
    return (
        f"Not a link: {stripped[:40]!r} (http(s)://…, mailto:… or a link variable such as "
        f"{UNSUBSCRIBE_PLACEHOLDER})."
    )


class _Reader:
    """Reads one object of the design, recording problems under its path."""

    def __init__(self, value: Any, where: str, problems: DesignProblems, allowed: set[str]) -> None:
        self.where, self.problems = where, problems
        if not isinstance(value, dict):
            problems.add(where, "Must be an object.")
            value = {}
        self.value = value
        unknown = set(value) - allowed - {"type"}
        if unknown:
            problems.add(where, f"Unknown fields: {', '.join(sorted(unknown))}.")

    def _path(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def text(self, name: str, *, default: str | None = None, max_length: int = MAX_TEXT) -> str:
        value = self.value.get(name, default)
        if value is None:
            self.problems.add(self._path(name), "Required.")
            return ""
        if not isinstance(value, str) or len(value) > max_length:
            self.problems.add(self._path(name), f"Text of at most {max_length} characters.")
            return ""
        return value

    def boolean(self, name: str) -> bool:
        value = self.value.get(name, False)
        if not isinstance(value, bool):
            self.problems.add(self._path(name), "Must be true or false.")
            return False
        return value

    def integer(self, name: str, low: int, high: int, default: int) -> int:
        value = self.value.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problems.add(self._path(name), f"A whole number from {low} to {high}.")
            return default
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.value.get(name, default)
        if value not in choices:
            self.problems.add(self._path(name), f"One of {', '.join(choices)}.")
            return default
        return value

    def colour(self, name: str, default: str) -> str:
        value = self.value.get(name, default)
        if not isinstance(value, str) or not _COLOUR.fullmatch(value):
            self.problems.add(self._path(name), "A colour as #rgb or #rrggbb.")
            return default
        return value

    def link(self, name: str, *, required: bool = False) -> str:
        value = self.value.get(name)
        if value in (None, ""):
            if required:
                self.problems.add(self._path(name), "Required.")
            return ""
        if not isinstance(value, str):
            self.problems.add(self._path(name), "Must be a link.")
            return ""
        problem = link_problem(value)
        if problem:
            self.problems.add(self._path(name), problem)
            return ""
        return value.strip()

    def image_source(self, name: str) -> str:
        value = self.value.get(name)
        if not isinstance(value, str) or not value.strip():
            self.problems.add(self._path(name), "Required: the image URL.")
            return ""
        value = value.strip()
        inline = _DATA_IMAGE.fullmatch(value)
        if inline:
            size = len(inline.group(2)) * 3 // 4
            if size > MAX_INLINE_IMAGE_BYTES:
                self.problems.add(
                    self._path(name),
                    f"The image is {size // 1024} KB; at most {MAX_INLINE_IMAGE_BYTES // 1024} KB inline "
                    "(link a hosted image instead).",
                )
                return ""
            return value
        problem = link_problem(value)
        if problem:
            self.problems.add(self._path(name), problem)
            return ""
        return value


def _runs(reader: _Reader) -> list[dict[str, Any]]:
    raw = reader.value.get("runs")
    if not isinstance(raw, list) or not raw:
        reader.problems.add(reader._path("runs"), "A list of text runs ({text, bold, italic, link}).")
        return []
    runs = []
    for index, run in enumerate(raw):
        part = _Reader(
            run, reader._path(f"runs[{index}]"), reader.problems, {"text", "bold", "italic", "link"}
        )
        runs.append(
            {
                "text": part.text("text"),
                "bold": part.boolean("bold"),
                "italic": part.boolean("italic"),
                "link": part.link("link"),
            }
        )
    return runs


def _block(value: Any, where: str, problems: DesignProblems, content_width: int) -> dict[str, Any] | None:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        r = _Reader(value, where, problems, {"runs", "size", "align", "color"})
        return {
            "type": "text",
            "runs": _runs(r),
            "size": r.integer("size", 10, 48, 16),
            "align": r.choice("align", TEXT_ALIGNMENTS, "left"),
            "color": r.colour("color", "#222222"),
        }
    if kind == "variable":
        r = _Reader(value, where, problems, {"name", "fallback", "size", "align", "bold", "color"})
        name = r.text("name", max_length=120)
        if name and not _VARIABLE_NAME.fullmatch(name):
            problems.add(f"{where}.name", f"Unknown variable {{{{{name}}}}}.")
        return {
            "type": "variable",
            "name": name,
            "fallback": r.text("fallback", default="", max_length=200),
            "size": r.integer("size", 10, 48, 16),
            "align": r.choice("align", TEXT_ALIGNMENTS, "left"),
            "bold": r.boolean("bold"),
            "color": r.colour("color", "#222222"),
        }
    if kind == "image":
        r = _Reader(value, where, problems, {"src", "alt", "width", "height", "link", "align"})
        return {
            "type": "image",
            "src": r.image_source("src"),
            "alt": r.text("alt", default="", max_length=300),
            "width": r.integer("width", 16, content_width, min(content_width, 600)),
            "height": r.integer("height", 0, MAX_IMAGE_HEIGHT, 0),  # 0: the image's own ratio
            "link": r.link("link"),
            "align": r.choice("align", ALIGNMENTS, "center"),
        }
    if kind == "button":
        r = _Reader(
            value, where, problems, {"label", "link", "color", "text_color", "size", "align", "radius"}
        )
        return {
            "type": "button",
            "label": r.text("label", max_length=120),
            "link": r.link("link", required=True),
            "color": r.colour("color", "#1a73e8"),
            "text_color": r.colour("text_color", "#ffffff"),
            "size": r.integer("size", 10, 36, 16),
            "align": r.choice("align", ALIGNMENTS, "center"),
            "radius": r.integer("radius", 0, 50, 4),
        }
    if kind == "divider":
        r = _Reader(value, where, problems, {"width", "color", "thickness"})
        return {
            "type": "divider",
            "width": r.integer("width", 10, 100, 100),  # percent of the content width
            "color": r.colour("color", "#dddddd"),
            "thickness": r.integer("thickness", 1, 10, 1),
        }
    if kind == "social":
        r = _Reader(value, where, problems, {"networks", "align", "icon_size"})
        raw = value.get("networks")
        networks = []
        if not isinstance(raw, list) or not raw:
            problems.add(f"{where}.networks", "A list of {network, url}.")
        else:
            for index, entry in enumerate(raw):
                e = _Reader(entry, f"{where}.networks[{index}]", problems, {"network", "url"})
                networks.append(
                    {
                        "network": e.choice("network", tuple(SOCIAL_NETWORKS), "linkedin"),
                        "url": e.link("url", required=True),
                    }
                )
        return {
            "type": "social",
            "networks": networks,
            "align": r.choice("align", ALIGNMENTS, "center"),
            "icon_size": r.integer("icon_size", 16, 64, 24),
        }
    problems.add(where, f"Unknown block type {kind!r}: text, variable, image, button, divider or social.")
    return None


def normalise_design(design: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The design with every default filled in, and the problems found (empty when it may be saved)."""
    problems = DesignProblems()
    top = _Reader(design, "", problems, {"header", "body", "footer", "content", "background_color"})
    content_reader = _Reader(
        top.value.get("content", {}), "content", problems, {"width", "background_color", "border"}
    )
    width = content_reader.integer("width", *CONTENT_WIDTHS, 600)
    border_reader = _Reader(
        content_reader.value.get("border", {}), "content.border", problems, {"width", "color", "radius"}
    )
    content = {
        "width": width,
        "background_color": content_reader.colour("background_color", "#ffffff"),
        "border": {
            "width": border_reader.integer("width", 0, 10, 0),
            "color": border_reader.colour("color", "#dddddd"),
            "radius": border_reader.integer("radius", 0, 30, 0),
        },
    }
    header_reader = _Reader(
        top.value.get("header", {}),
        "header",
        problems,
        {"logo", "logo_alt", "logo_width", "logo_link", "background_color", "align"},
    )
    header = {
        "logo": header_reader.image_source("logo") if header_reader.value.get("logo") else "",
        "logo_alt": header_reader.text("logo_alt", default="", max_length=300),
        "logo_width": header_reader.integer("logo_width", 16, width, 160),
        "logo_link": header_reader.link("logo_link"),
        "background_color": header_reader.colour("background_color", "#ffffff"),
        "align": header_reader.choice("align", ALIGNMENTS, "center"),
    }
    footer_reader = _Reader(
        top.value.get("footer", {}),
        "footer",
        problems,
        {"text", "background_color", "text_color", "link_color", "unsubscribe_label"},
    )
    footer = {
        "text": footer_reader.text("text", default="", max_length=1000),
        "background_color": footer_reader.colour("background_color", "#f4f4f4"),
        "text_color": footer_reader.colour("text_color", "#666666"),
        "link_color": footer_reader.colour("link_color", "#1a73e8"),
        "unsubscribe_label": footer_reader.text("unsubscribe_label", default="Unsubscribe", max_length=60)
        or "Unsubscribe",
    }
    raw_body = top.value.get("body")
    body = []
    if not isinstance(raw_body, list) or not raw_body:
        problems.add("body", "A list of blocks, at least one.")
    elif len(raw_body) > MAX_BLOCKS:
        problems.add("body", f"At most {MAX_BLOCKS} blocks.")
    else:
        for index, raw in enumerate(raw_body):
            block = _block(raw, f"body[{index}]", problems, width)
            if block is not None:
                body.append(block)
    normalised = {
        "background_color": top.colour("background_color", "#f4f4f4"),
        "content": content,
        "header": header,
        "body": body,
        "footer": footer,
    }
    return normalised, problems.problems


# --- MJML and plain text ------------------------------------------------------------------------


def _text(value: str) -> str:
    return escape(value, quote=False)


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _run_html(run: dict[str, Any]) -> str:
    html = _text(run["text"]).replace("\n", "<br>")
    if run["bold"]:
        html = f"<strong>{html}</strong>"
    if run["italic"]:
        html = f"<em>{html}</em>"
    if run["link"]:
        html = f'<a href="{_attr(run["link"])}" target="_blank">{html}</a>'
    return html


def _placeholder(name: str, fallback: str) -> str:
    return f"{{{{ {name} | {fallback} }}}}" if fallback else f"{{{{ {name} }}}}"


def _block_mjml(block: dict[str, Any], design: dict[str, Any]) -> str:
    kind = block["type"]
    if kind == "text":
        inner = "".join(_run_html(run) for run in block["runs"])
        return (
            f'<mj-text font-size="{block["size"]}px" align="{block["align"]}" color="{block["color"]}">'
            f"{inner}</mj-text>"
        )
    if kind == "variable":
        inner = _text(_placeholder(block["name"], block["fallback"]))
        if block["bold"]:
            inner = f"<strong>{inner}</strong>"
        return (
            f'<mj-text font-size="{block["size"]}px" align="{block["align"]}" color="{block["color"]}">'
            f"{inner}</mj-text>"
        )
    if kind == "image":
        attrs = (
            f'src="{_attr(block["src"])}" alt="{_attr(block["alt"])}" width="{block["width"]}px" '
            f'align="{block["align"]}"'
        )
        if block["height"]:
            attrs += f' height="{block["height"]}px"'
        if block["link"]:
            attrs += f' href="{_attr(block["link"])}"'
        return f"<mj-image {attrs} />"
    if kind == "button":
        return (
            f'<mj-button href="{_attr(block["link"])}" background-color="{block["color"]}" '
            f'color="{block["text_color"]}" font-size="{block["size"]}px" align="{block["align"]}" '
            f'border-radius="{block["radius"]}px">{_text(block["label"])}</mj-button>'
        )
    if kind == "divider":
        return (
            f'<mj-divider width="{block["width"]}%" border-color="{block["color"]}" '
            f'border-width="{block["thickness"]}px" />'
        )
    if kind == "social":
        elements = "".join(
            f'<mj-social-element name="{_MJML_NETWORK[n["network"]]}" href="{_attr(n["url"])}">'
            f"{SOCIAL_NETWORKS[n['network']]}</mj-social-element>"
            for n in block["networks"]
        )
        return (
            f'<mj-social mode="horizontal" align="{block["align"]}" icon-size="{block["icon_size"]}px">'
            f"{elements}</mj-social>"
        )
    raise ValueError(kind)


def design_to_mjml(design: dict[str, Any], *, preheader: str = "", title: str = "") -> str:
    """A normalised design as one MJML document (placeholders still in it)."""
    content, header, footer = design["content"], design["header"], design["footer"]
    border = content["border"]
    border_css = f'border="{border["width"]}px solid {border["color"]}" ' if border["width"] else ""
    sections = []
    if header["logo"]:
        logo = (
            f'src="{_attr(header["logo"])}" alt="{_attr(header["logo_alt"])}" '
            f'width="{header["logo_width"]}px" align="{header["align"]}"'
        )
        if header["logo_link"]:
            logo += f' href="{_attr(header["logo_link"])}"'
        sections.append(
            f'<mj-section background-color="{header["background_color"]}"><mj-column>'
            f"<mj-image {logo} /></mj-column></mj-section>"
        )
    blocks = "".join(_block_mjml(block, design) for block in design["body"])
    sections.append(
        f'<mj-section background-color="{content["background_color"]}" {border_css}'
        f'border-radius="{border["radius"]}px"><mj-column>{blocks}</mj-column></mj-section>'
    )
    footer_text = _text(footer["text"]).replace("\n", "<br>")
    unsubscribe = (
        f'<a href="{_attr(UNSUBSCRIBE_PLACEHOLDER)}" style="color:{footer["link_color"]}">'
        f"{_text(footer['unsubscribe_label'])}</a>"
    )
    sections.append(
        f'<mj-section background-color="{footer["background_color"]}"><mj-column>'
        f'<mj-text font-size="12px" align="center" color="{footer["text_color"]}">'
        f"{footer_text}{'<br>' if footer_text else ''}{unsubscribe}</mj-text></mj-column></mj-section>"
    )
    head = f"<mj-title>{_text(title)}</mj-title>" if title else ""
    if preheader:
        head += f"<mj-preview>{_text(preheader)}</mj-preview>"
    return (
        f"<mjml><mj-head>{head}</mj-head>"
        f'<mj-body width="{content["width"]}px" background-color="{design["background_color"]}">'
        f"{''.join(sections)}</mj-body></mjml>"
    )


def design_to_text(design: dict[str, Any]) -> str:
    """The plain-text part: the same content in reading order, links written out."""
    lines: list[str] = []
    for block in design["body"]:
        kind = block["type"]
        if kind == "text":
            lines.append(
                "".join(f"{r['text']} ({r['link']})" if r["link"] else r["text"] for r in block["runs"])
            )
        elif kind == "variable":
            lines.append(_placeholder(block["name"], block["fallback"]))
        elif kind == "image":
            if block["alt"] or block["link"]:
                lines.append(
                    " ".join(p for p in (f"[{block['alt']}]" if block["alt"] else "", block["link"]) if p)
                )
        elif kind == "button":
            lines.append(f"{block['label']}: {block['link']}")
        elif kind == "divider":
            lines.append("-" * 20)
        elif kind == "social":
            lines.append(
                " | ".join(f"{SOCIAL_NETWORKS[n['network']]}: {n['url']}" for n in block["networks"])
            )
    footer = design["footer"]
    lines.append("")
    if footer["text"]:
        lines.append(footer["text"])
    lines.append(f"{footer['unsubscribe_label']}: {UNSUBSCRIBE_PLACEHOLDER}")
    return re.sub(r"\n{3,}", "\n\n", "\n\n".join(lines)).strip() + "\n"
