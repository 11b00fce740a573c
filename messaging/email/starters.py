"""The two starting points of the email editor: a simple letter and a configurable flier.

Both are ordinary designs (see `messaging.email.design`), returned fresh so a caller may change them.
"""

from __future__ import annotations

import copy
from typing import Any

_SIMPLE: dict[str, Any] = {
    "subject": "A code for you, {{ customer.first_name | friend }}",
    "preheader": "Your personal code is inside.",
    "design": {
        "body": [
            {
                "type": "text",
                "runs": [
                    {"text": "Hi "},
                    {"text": "{{ customer.first_name | there }}", "bold": True},
                    {"text": ","},
                ],
            },
            {"type": "text", "runs": [{"text": "Here is your personal code:"}]},
            {
                "type": "variable",
                "name": "voucher.code",
                "fallback": "",
                "size": 24,
                "align": "center",
                "bold": True,
            },
            {"type": "text", "runs": [{"text": "See you soon."}]},
        ],
        "footer": {"text": ""},
    },
}


def _flier(
    *,
    headline: str,
    image_url: str,
    button_label: str,
    button_link: str,
    logo_url: str = "",
    brand_colour: str = "#1a73e8",
    footer_text: str = "",
    social: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "text", "runs": [{"text": headline, "bold": True}], "size": 28, "align": "center"},
        {"type": "image", "src": image_url, "alt": headline, "width": 600},
        {
            "type": "text",
            "runs": [{"text": "Your code: "}, {"text": "{{ voucher.code }}", "bold": True}],
            "align": "center",
            "size": 20,
        },
        {"type": "image", "src": "{{ voucher.qr_url }}", "alt": "QR code", "width": 160},
        {"type": "button", "label": button_label, "link": button_link, "color": brand_colour, "radius": 6},
        {"type": "divider", "width": 80},
    ]
    if social:
        body.append({"type": "social", "networks": social})
    design: dict[str, Any] = {
        "background_color": "#eeeeee",
        "content": {"width": 600, "border": {"width": 1, "color": "#dddddd", "radius": 4}},
        "body": body,
        "footer": {"text": footer_text, "link_color": brand_colour},
    }
    if logo_url:
        design["header"] = {"logo": logo_url, "logo_alt": "Logo", "background_color": brand_colour}
    return {"subject": headline, "preheader": "{{ voucher.code }} inside", "design": design}


def starter(name: str, **options: Any) -> dict[str, Any]:
    """Email content to start from: "simple", or "flier" (headline, image_url, button_label,
    button_link, and optionally logo_url, brand_colour, footer_text, social)."""
    if name == "simple":
        return copy.deepcopy(_SIMPLE)
    if name == "flier":
        defaults = {
            "headline": "Spring sale",
            "image_url": "https://example.com/images/spring.gif",
            "button_label": "Shop now",
            "button_link": "https://example.com/shop",
        }
        return _flier(**{**defaults, **options})
    raise ValueError(f"Unknown starting point {name!r}: simple or flier.")
