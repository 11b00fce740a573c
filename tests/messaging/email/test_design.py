"""Email designs: blocks to MJML to HTML once at save, a plain-text part, and every refusal named."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from messaging.email import compiler
from messaging.email.compiler import CompiledEmail
from messaging.email.starters import starter
from messaging.models import MessageTemplate
from messaging.rendering import RenderContext
from messaging.services import message_template_create
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

EVERY_BLOCK = {
    "subject": "Hello {{ customer.first_name | there }}",
    "preheader": "Your code {{ voucher.code }}",
    "design": {
        "background_color": "#eeeeee",
        "content": {
            "width": 640,
            "background_color": "#fafafa",
            "border": {"width": 2, "color": "#123456", "radius": 8},
        },
        "header": {
            "logo": "https://cdn.acme.example/logo.png",
            "logo_alt": "Acme logo",
            "background_color": "#ff0000",
        },
        "body": [
            {
                "type": "text",
                "runs": [
                    {"text": "Plain "},
                    {"text": "strong words", "bold": True},
                    {"text": "slanted words", "italic": True},
                    {"text": "our shop", "link": "https://acme.example/shop"},
                ],
                "size": 18,
                "align": "justify",
            },
            {"type": "variable", "name": "loyalty.tier", "fallback": "Member", "bold": True},
            {
                "type": "image",
                "src": "https://cdn.acme.example/dance.gif",
                "alt": "Dancing cat",
                "width": 300,
                "link": "https://acme.example/cats",
                "align": "right",
            },
            {
                "type": "button",
                "label": "Claim it",
                "link": "{{ customer.cockpit_url }}",
                "color": "#00aa00",
                "size": 20,
                "radius": 12,
                "align": "left",
            },
            {"type": "divider", "width": 50, "color": "#abcdef", "thickness": 3},
            {
                "type": "social",
                "networks": [
                    {"network": "linkedin", "url": "https://linkedin.com/company/acme"},
                    {"network": "facebook", "url": "https://facebook.com/acme"},
                    {"network": "instagram", "url": "https://instagram.com/acme"},
                    {"network": "x", "url": "https://x.com/acme"},
                    {"network": "youtube", "url": "https://youtube.com/@acme"},
                ],
            },
        ],
        "footer": {
            "text": "Acme Ltd, 1 Main St",
            "background_color": "#222222",
            "text_color": "#eeeeee",
            "link_color": "#ffcc00",
            "unsubscribe_label": "Stop these emails",
        },
    },
}


def save(project, content):
    return message_template_create(project=project, channel="email", content=content)


def render(template, customer, **variables):
    return CompiledEmail(template.content).render(
        RenderContext(customer=customer, variables=variables, project=template.project, channel="email")
    )


def test_every_block_type_reaches_the_compiled_html(project):
    template = save(project, EVERY_BLOCK)
    customer = CustomerFactory(project=project, name="Ada Lovelace")

    email = render(template, customer, **{"voucher.code": "SPRING-1", "loyalty.tier": "Gold"})

    html = email.html
    assert "<strong>strong words</strong>" in html and "<em>slanted words</em>" in html
    assert (
        'href="https://acme.example/shop"' in html
        and "font-size:18px" in html
        and "text-align:justify" in html
    )
    assert "<strong>Gold</strong>" in html  # the variable block
    assert 'src="https://cdn.acme.example/dance.gif"' in html and 'alt="Dancing cat"' in html
    assert 'href="https://acme.example/cats"' in html and 'width="300"' in html
    assert "Claim it" in html and "#00aa00" in html and "border-radius:12px" in html
    assert "/c/" in html  # the button's cockpit link, built per customer
    assert "#abcdef" in html and "border-top:solid 3px" in html  # the divider
    for url in (
        "linkedin.com/company/acme",
        "facebook.com/acme",
        "instagram.com/acme",
        "x.com/acme",
        "youtube.com/@acme",
    ):
        assert url in html
    assert 'src="https://cdn.acme.example/logo.png"' in html and "#ff0000" in html  # the header
    assert "640px" in html and "2px solid #123456" in html  # content width and border
    assert "Acme Ltd, 1 Main St" in html and "Stop these emails" in html and "#222222" in html
    assert "/u/" in html  # the unsubscribe link, always in the footer
    assert email.subject == "Hello Ada"
    assert "Your code SPRING-1" in html  # the preheader, hidden at the top


def test_the_plain_text_part_is_derived_from_the_design(project):
    template = save(project, EVERY_BLOCK)
    customer = CustomerFactory(project=project, name="Ada Lovelace")

    text = render(template, customer, **{"loyalty.tier": ""}).text

    assert "Plain strong wordsslanted wordsour shop (https://acme.example/shop)" in text
    assert "Member" in text  # the variable's fallback
    assert "[Dancing cat] https://acme.example/cats" in text
    assert "Claim it: http" in text and "/c/" in text
    assert "LinkedIn: https://linkedin.com/company/acme | Facebook:" in text
    assert "Stop these emails: http" in text and "/u/" in text
    assert "<" not in text


def test_mjml_compiles_once_at_save_and_never_per_message(project):
    before = compiler.mjml_compile_count
    template = save(project, starter("flier"))
    assert compiler.mjml_compile_count == before + 1
    customers = [CustomerFactory(project=project) for _ in range(5)]

    bodies = [render(template, c, **{"voucher.code": f"C-{c.pk}"}).html for c in customers]

    assert compiler.mjml_compile_count == before + 1
    assert all(f"C-{c.pk}" in body for c, body in zip(customers, bodies, strict=True))
    # What is stored is the compiled HTML itself, the markers standing in for the variables.
    stored = MessageTemplate.objects.for_project(project).get(pk=template.pk).content["compiled"]
    assert stored["html"].startswith("<!doctype html>") and stored["marker"] in stored["html"]


def test_values_are_escaped_into_the_html(project):
    template = save(project, starter("simple"))
    customer = CustomerFactory(project=project, name="<script>alert(1)</script>")

    email = render(template, customer, **{"voucher.code": '"><img src=x onerror=alert(1)>'})

    assert "<script>alert(1)" not in email.html and "onerror=alert(1)>" not in email.html
    assert "&lt;script&gt;" in email.html


def test_both_starting_points_save(project):
    assert save(project, starter("simple")).content["design"]["body"]
    flier = save(project, starter("flier", logo_url="https://acme.example/l.png", brand_colour="#112233"))
    assert "#112233" in flier.content["compiled"]["html"]


def refusal(project, content) -> dict:
    with pytest.raises(ValidationError) as caught:
        save(project, content)
    assert not MessageTemplate.objects.for_project(project).exists()
    return caught.value.message_dict


def with_block(block):
    content = starter("simple")
    content["design"]["body"].append(block)
    return content


def test_a_broken_design_is_refused_naming_the_block_and_field(project):
    problems = refusal(
        project,
        {
            "subject": "Hi",
            "design": {
                "body": [
                    {"type": "text", "runs": [{"text": "ok"}]},
                    {"type": "button", "label": "Go", "color": "red"},
                    {"type": "video", "src": "https://x"},
                    {"type": "divider", "width": 500},
                ]
            },
        },
    )

    assert problems["body[1].link"] == ["Required."]
    assert problems["body[1].color"] == ["A colour as #rgb or #rrggbb."]
    assert "Unknown block type 'video'" in problems["body[2]"][0]
    assert problems["body[3].width"] == ["A whole number from 10 to 100."]


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,x"]
)
def test_an_unsafe_link_is_refused(project, link):
    problems = refusal(project, with_block({"type": "button", "label": "Go", "link": link}))

    assert "Unsafe link" in problems["body[4].link"][0]


def test_an_oversized_or_too_wide_image_is_refused_and_a_gif_is_fine(project):
    big = "data:image/gif;base64," + "R0lGODlh" * 40000
    assert (
        "at most 200 KB inline"
        in refusal(project, with_block({"type": "image", "src": big}))["body[4].src"][0]
    )
    assert refusal(project, with_block({"type": "image", "src": "https://a.example/x.png", "width": 900}))[
        "body[4].width"
    ] == ["A whole number from 16 to 600."]

    small_gif = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    assert save(project, with_block({"type": "image", "src": small_gif, "width": 100})).pk


def test_an_unknown_variable_is_refused_with_its_place(project):
    content = with_block({"type": "text", "runs": [{"text": "Hi {{ customer.nickname }}"}]})
    content["subject"] = "{{ order.secret }}"

    problems = refusal(project, content)

    assert problems["body[4].runs[0].text"] == ["Unknown variable {{customer.nickname}}."]
    assert problems["subject"] == ["Unknown variable {{order.secret}}."]


@pytest.mark.parametrize(
    "escape",
    [
        "settings.SECRET_KEY",
        "customer.__class__.objects.all",
        "customer.project.api_keys",
        "customer.__dict__",
        "customers.1.email",
        "message.__init__.__globals__",
    ],
)
def test_a_template_reaching_for_settings_or_other_customers_does_not_save(project, escape):
    in_text = refusal(project, with_block({"type": "text", "runs": [{"text": f"{{{{ {escape} }}}}"}]}))
    as_variable = refusal(project, with_block({"type": "variable", "name": escape}))

    assert "Unknown variable" in in_text["body[4].runs[0].text"][0]
    assert "Unknown variable" in as_variable["body[4].name"][0]


def test_subject_and_either_design_or_html_are_required(project):
    assert "subject" in refusal(project, {"design": starter("simple")["design"]})
    assert refusal(project, {"subject": "Hi"})["design"] == ["Give either a design or custom_html."]


def test_a_link_may_carry_a_variable_after_its_scheme_and_fallbacks_are_escaped_once(project):
    bare = refusal(project, with_block({"type": "button", "label": "x", "link": "{{ voucher.code }}"}))
    assert "Not a link" in bare["body[4].link"][0]  # a variable alone cannot choose the scheme
    content = with_block(
        {"type": "button", "label": "Use it", "link": "https://acme.example/?code={{ voucher.code }}"}
    )
    content["design"]["body"].append(
        {"type": "text", "runs": [{"text": "Hi {{ customer.name | Tom & Jerry }}"}]}
    )
    content["preheader"] = "Fish & chips"
    template = save(project, content)
    customer = CustomerFactory(project=project, name="")

    email = render(template, customer, **{"voucher.code": "A1"})

    assert 'href="https://acme.example/?code=A1"' in email.html
    assert "Hi Tom &amp; Jerry" in email.html and "Hi Tom & Jerry" in email.text
    assert "Fish &amp; chips" in email.html and "&amp;amp;" not in email.html
