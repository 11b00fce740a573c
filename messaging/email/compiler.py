"""Email content at save time (validate, MJML → HTML once, plain text) and per message (fill in).

Saved content (`MessageTemplate.content` for channel "email"):

    {"subject", "preheader", "design" | "custom_html",
     "compiled": {"marker", "html", "text", "placeholders": ["{{ name | fallback }}", ...]}}

MJML's CSS is full of braces (`…{width:100%!important;}}`), so before compiling every placeholder is
swapped for a marker (`<marker>N_`) that survives MJML untouched; the compiled HTML keeps the
markers and the list of placeholder sources. Per message, `CompiledEmail` splits the HTML once per
process at the markers and fills each slot through `messaging.rendering`, HTML-escaped: the renderer
(and its closed, sandboxed variable set) is the same one every channel uses.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass
from html import escape, unescape
from html.parser import HTMLParser
from typing import Any

import mjml
import nh3

from messaging.email.design import (
    UNSUBSCRIBE_PLACEHOLDER,
    design_to_mjml,
    design_to_text,
    normalise_design,
)
from messaging.rendering import CompiledText, RenderContext, TemplateError, compile_text

MAX_SUBJECT = 200
MAX_PREHEADER = 250
MAX_CUSTOM_HTML = 200_000
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

# How many times MJML compiled, in this process: the benchmark and the tests read it to show that
# delivery never compiles (only saving does).
_compile_lock = threading.Lock()
mjml_compile_count = 0


def compile_mjml(source: str) -> str:
    global mjml_compile_count
    with _compile_lock:
        mjml_compile_count += 1
    return mjml.mjml2html(source)


class EmailContentError(ValueError):
    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))


def _with_markers(source: str, marker: str, placeholders: list[str]) -> str:
    def swap(match: re.Match) -> str:
        # Swapped out of HTML: the fallback is stored as text (it is escaped again when rendered).
        placeholders.append(unescape(match.group(0)))
        return f"{marker}{len(placeholders) - 1}_"

    return _PLACEHOLDER.sub(swap, source)


def _check_variables(where: str, source: str, problems: dict[str, list[str]]) -> None:
    try:
        compile_text(source)
    except TemplateError as error:
        problems.setdefault(where, []).extend(error.problems)


def _variable_problems(design: dict[str, Any], problems: dict[str, list[str]]) -> None:
    """Name the block and field of every unknown variable."""

    def walk(node: Any, path: str) -> None:
        if isinstance(node, str):
            if "{{" in node or "}}" in node:
                _check_variables(path, node, problems)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(design, "")
    for index, block in enumerate(design.get("body", [])):
        if block.get("type") == "variable":
            _check_variables(f"body[{index}].name", "{{ " + block["name"] + " }}", problems)


# --- Custom HTML (enterprise plans) --------------------------------------------------------------

_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}
_GENERIC_ATTRIBUTES = {
    "style",
    "align",
    "valign",
    "width",
    "height",
    "bgcolor",
    "border",
    "class",
    "dir",
    "lang",
    "title",
}
_ATTRIBUTES = {
    "*": _GENERIC_ATTRIBUTES,
    "a": {"href", "target", "name"},
    "img": {"src", "alt"},
    "table": {"cellpadding", "cellspacing", "role"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"color", "face", "size"},
}
_LINK_ATTRIBUTE = re.compile(r"""\b(href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def _custom_html_problems(source: str) -> list[str]:
    problems = []
    for match in _LINK_ATTRIBUTE.finditer(source):
        value = next(v for v in match.groups()[1:] if v is not None)
        if re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(("javascript:", "vbscript:")):
            problems.append(f"Unsafe link {value.strip()[:40]!r} in {match.group(1)}.")
    return problems


def _sanitise(source: str, marker: str, placeholders: list[str]) -> str:
    marked = _with_markers(source, marker, placeholders)
    return nh3.clean(
        marked,
        tags=_ALLOWED_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )


class _TextExtractor(HTMLParser):
    _BREAKS = {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "li", "table", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.parts.append(f" ({href})")
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    text = "".join(extractor.parts)
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip() + "\n"


# --- Saving ---------------------------------------------------------------------------------------


def build_email_content(*, project: Any, content: dict[str, Any]) -> dict[str, Any]:
    """Validate an email template and compile it (MJML once, here); raise `EmailContentError`."""
    problems: dict[str, list[str]] = {}
    unknown = set(content) - {"subject", "preheader", "design", "custom_html"}
    if unknown:
        problems["content"] = [f"Unknown settings: {', '.join(sorted(unknown))}."]
    subject = content.get("subject")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT or "\n" in subject:
        problems["subject"] = [f"A subject of 1 to {MAX_SUBJECT} characters on one line is required."]
    else:
        _check_variables("subject", subject, problems)
    preheader = content.get("preheader", "")
    if not isinstance(preheader, str) or len(preheader) > MAX_PREHEADER:
        problems["preheader"] = [f"At most {MAX_PREHEADER} characters."]
        preheader = ""
    else:
        _check_variables("preheader", preheader, problems)

    has_design, has_html = "design" in content, "custom_html" in content
    if has_design == has_html:
        problems["design"] = ["Give either a design or custom_html."]
        raise EmailContentError(problems)

    marker = f"_dmv{secrets.token_hex(4)}_"
    placeholders: list[str] = []
    saved: dict[str, Any] = {"subject": subject, "preheader": preheader}
    if has_design:
        design, design_problems = normalise_design(content["design"])
        problems.update(design_problems)
        _variable_problems(design, problems)
        if problems:
            raise EmailContentError(problems)
        source = design_to_mjml(design, preheader=_with_markers(preheader, marker, placeholders))
        source = _with_markers(source, marker, placeholders)
        try:
            html = compile_mjml(source)
        except Exception as error:  # mjml's own message names what it could not read
            raise EmailContentError({"design": [f"The design could not be compiled: {error}"]}) from None
        text = design_to_text(design)
        saved["design"] = design
    else:
        from tenancy.models import Project

        source = content["custom_html"]
        if getattr(project, "plan", None) != Project.Plan.ENTERPRISE:
            problems["custom_html"] = ["Custom HTML is available on the enterprise plan; use a design."]
        elif not isinstance(source, str) or not source.strip() or len(source) > MAX_CUSTOM_HTML:
            problems["custom_html"] = [f"HTML of at most {MAX_CUSTOM_HTML} characters."]
        else:
            found = _custom_html_problems(source)
            _check_variables("custom_html", source, problems)
            if not re.search(r"\{\{\s*unsubscribe\.url\s*(\|[^}]*)?\}\}", source):
                found.append(f"The unsubscribe link variable {UNSUBSCRIBE_PLACEHOLDER} is required.")
            if found:
                problems.setdefault("custom_html", []).extend(found)
        if problems:
            raise EmailContentError(problems)
        body = _sanitise(source, marker, placeholders)
        if f"{marker}" not in body or not any(
            re.fullmatch(r"\{\{\s*unsubscribe\.url\s*(\|[^}]*)?\}\}", placeholders[int(i)])
            for i in re.findall(re.escape(marker) + r"(\d+)_", body)
        ):
            raise EmailContentError({"custom_html": ["The unsubscribe link must be in the visible content."]})
        preheader_html = (
            f'<div style="display:none;max-height:0;overflow:hidden">{escape(preheader)}</div>'
            if preheader
            else ""
        )
        html = (
            '<!doctype html><html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            f"<body>{_with_markers(preheader_html, marker, placeholders)}{body}</body></html>"
        )
        text = _restore(html_to_text(body), marker, placeholders)
        saved["custom_html"] = source
    saved["compiled"] = {"marker": marker, "html": html, "text": text, "placeholders": placeholders}
    return saved


def _restore(text: str, marker: str, placeholders: list[str]) -> str:
    return re.sub(re.escape(marker) + r"(\d+)_", lambda m: placeholders[int(m.group(1))], text)


# --- Per message ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str


class CompiledEmail:
    """A saved email template, parsed once per process: literal HTML and slots, in order."""

    def __init__(self, content: dict[str, Any]) -> None:
        compiled = content["compiled"]
        self.subject = compile_text(content["subject"])
        self.preheader = compile_text(content.get("preheader", ""))
        self.text = compile_text(compiled["text"])
        slots = [compile_text(source) for source in compiled["placeholders"]]
        self.html_parts: list[str | CompiledText] = []
        pattern = re.compile(re.escape(compiled["marker"]) + r"(\d+)_")
        position = 0
        for match in pattern.finditer(compiled["html"]):
            self.html_parts.append(compiled["html"][position : match.start()])
            self.html_parts.append(slots[int(match.group(1))])
            position = match.end()
        self.html_parts.append(compiled["html"][position:])
        self.variables = sorted(
            {name for slot in slots for name in slot.variables}
            | set(self.subject.variables)
            | set(self.text.variables)
        )

    def render(self, context: RenderContext) -> RenderedEmail:
        html = "".join(
            part if isinstance(part, str) else escape(part.render(context), quote=True)
            for part in self.html_parts
        )
        return RenderedEmail(
            subject=self.subject.render(context).replace("\n", " ").replace("\r", " "),
            preheader=self.preheader.render(context),
            html=html,
            text=self.text.render(context),
        )


_compiled: dict[int, CompiledEmail] = {}


def compiled_email(template: Any) -> CompiledEmail:
    """Template versions are immutable, so a process parses each one once (never MJML again)."""
    found = _compiled.get(template.pk)
    if found is None:
        if len(_compiled) > 2000:
            _compiled.clear()
        found = _compiled[template.pk] = CompiledEmail(template.content)
    return found
