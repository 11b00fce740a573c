"""The one renderer: a closed set of variables with fallbacks, checked at save, sandboxed."""

from __future__ import annotations

import pytest

from messaging.rendering import RenderContext, TemplateError, compile_payload, compile_text, known_variables
from tests.factories import CustomerFactory


@pytest.fixture
def ada(db, project):
    return CustomerFactory(
        project=project, name="Ada Lovelace", email="ada@example.com", metadata={"shoe_size": 38, "vip": True}
    )


def render(source: str, customer, **variables) -> str:
    return compile_text(source).render(RenderContext(customer=customer, variables=variables))


def test_customer_and_message_variables_are_filled_in(ada):
    text = "Hi {{ customer.first_name }}, your code is {{voucher.code}} ({{ customer.metadata.shoe_size }})."

    assert render(text, ada, **{"voucher.code": "SPRING-1"}) == "Hi Ada, your code is SPRING-1 (38)."


def test_a_fallback_replaces_a_missing_or_empty_value(ada):
    ada.name = ""

    assert render("Hi {{customer.name | there}}!", ada) == "Hi there!"
    assert render("{{ loyalty.tier | Bronze }}", ada) == "Bronze"
    assert render("{{ customer.metadata.missing | n/a }}", ada) == "n/a"
    assert render("[{{ voucher.code }}]", ada) == "[]"  # no fallback: empty


def test_unknown_variables_are_rejected_at_compile_time_naming_each_one():
    with pytest.raises(TemplateError) as caught:
        compile_text("Hi {{ customer.nmae }}, {{ voucher.code }} {{ order.secret_total }}")

    assert caught.value.problems == [
        "Unknown variable {{customer.nmae}}.",
        "Unknown variable {{order.secret_total}}.",
    ]


def test_broken_braces_are_rejected():
    with pytest.raises(TemplateError, match="Unclosed or stray braces"):
        compile_text("Hi {{ customer.name")
    with pytest.raises(TemplateError, match=r"Unknown variable \{\{\}\}"):
        compile_text("Hi {{}}")


@pytest.mark.parametrize(
    "escape",
    [
        "customer.__class__",
        "customer.__dict__",
        "customer.project",
        "customer.project.name",
        "customer.metadata.__class__.__mro__",
        "customer.save",
        "voucher.code.__class__",
        "customer.metadata",
        "customer.email.upper",
    ],
)
def test_nothing_outside_the_set_is_reachable(escape):
    with pytest.raises(TemplateError, match="Unknown variable"):
        compile_text(f"{{{{ {escape} }}}}")


def test_a_value_from_the_message_is_never_evaluated(ada):
    # Variables are data: a value that looks like a placeholder is printed as it is.
    assert (
        render("{{ voucher.code }}", ada, **{"voucher.code": "{{ customer.email }}"})
        == "{{ customer.email }}"
    )


def test_a_payload_design_keeps_native_types_for_whole_placeholders_and_nests(ada):
    design = {
        "customer": {"name": "{{customer.name}}", "vip": "{{customer.metadata.vip}}"},
        "points": "{{loyalty.points_balance | 0}}",
        "line": "Code {{voucher.code}} for {{customer.first_name}}",
        "tags": ["static", "{{campaign.name}}"],
        "fixed": 3,
    }

    rendered = compile_payload(design).render(
        RenderContext(
            customer=ada,
            variables={"voucher.code": "X1", "campaign.name": "Spring", "loyalty.points_balance": 120},
        )
    )

    assert rendered == {
        "customer": {"name": "Ada Lovelace", "vip": True},
        "points": 120,
        "line": "Code X1 for Ada",
        "tags": ["static", "Spring"],
        "fixed": 3,
    }


def test_a_payload_design_names_the_key_path_of_each_unknown_variable():
    with pytest.raises(TemplateError) as caught:
        compile_payload({"a": {"b": ["{{nope}}"]}, "c": "{{customer.password}}"})

    assert caught.value.problems == [
        "Unknown variable {{nope}} at a.b[0].",
        "Unknown variable {{customer.password}} at c.",
    ]


def test_the_set_is_listed_with_labels():
    variables = known_variables()

    assert variables["customer.name"] == "Customer name"
    assert variables["voucher.code"] == "Code"
    assert "customer.metadata.<key>" in variables
