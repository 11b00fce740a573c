"""The message editor on the server: what each change answers, what Save stores, and who may do it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from distributions import services
from distributions.models import Distribution, DistributionChannel, DistributionStatus
from messaging.editor.forms import markup_to_runs, runs_to_markup
from tenancy.models import Project
from tests.dashboard.conftest import signed_in
from tests.distributions.support import nothing_changes
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def draft(project, marketer):
    """A draft plain-message distribution by email, as the wizard leaves it after Channels."""
    return services.distribution_create(
        project=project,
        fields={
            "name": "Spring news",
            "trigger": {"key": "order_paid"},
            "action": {"key": "plain_message"},
            "channels": [{"kind": "email"}, {"kind": "sms"}, {"kind": "webhook"}],
        },
        by=marketer,
    )


def editor_url(distribution, kind="email") -> str:
    return f"/distributions/{distribution.public_id}/channels/{kind}/editor/"


def email_form(**overrides) -> dict[str, str | list[str]]:
    """A whole email editor post: one text block and one button."""
    data: dict[str, str | list[str]] = {
        "subject": "Hello {{ customer.first_name | friend }}",
        "preheader": "Spring is here",
        "mode": "design",
        "block": ["0", "1"],
        "b0-type": "text",
        "b0-text": "Hi **{{ customer.name }}**, see [our shop](https://shop.example.com).",
        "b0-size": "16",
        "b0-align": "left",
        "b0-color": "#222222",
        "b1-type": "button",
        "b1-label": "Shop now",
        "b1-link": "https://shop.example.com",
        "footer-text": "Acme, 1 Main Street",
    }
    data.update(overrides)
    return data


def channel(distribution, kind) -> DistributionChannel:
    return DistributionChannel.objects.for_project(distribution.project).get(
        distribution=distribution, kind=kind
    )


# --- Text markup ------------------------------------------------------------------------------------


def test_text_markup_becomes_runs_and_back():
    runs = markup_to_runs("Hi **{{ customer.first_name }}**, *soon*: [shop](https://x.example)!")

    assert runs == [
        {"text": "Hi "},
        {"text": "{{ customer.first_name }}", "bold": True},
        {"text": ", "},
        {"text": "soon", "italic": True},
        {"text": ": "},
        {"text": "shop", "link": "https://x.example"},
        {"text": "!"},
    ]
    assert runs_to_markup(runs) == "Hi **{{ customer.first_name }}**, *soon*: [shop](https://x.example)!"


# --- Opening the editor -----------------------------------------------------------------------------


def test_a_new_email_starts_from_the_simple_letter_with_its_preview(draft, marketer):
    response = signed_in(marketer).get(editor_url(draft))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="A code for you, {{ customer.first_name | friend }}"' in html
    assert "srcdoc=" in html and "Here is your personal code:" in html
    assert "SAMPLE-CODE-1234" in html  # the sample code filled in the preview
    assert f'href="/distributions/{draft.public_id}/wizard/channels/"' in html


def test_the_preview_renders_for_the_chosen_customer(draft, marketer, project):
    grace = CustomerFactory(project=project, name="Grace Hopper", email="grace@example.com")

    response = signed_in(marketer).post(
        editor_url(draft), {**email_form(), "customer": grace.public_id}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Hi &lt;strong&gt;Grace Hopper&lt;/strong&gt;" in html  # inside the iframe's srcdoc
    assert 'id="preview-subject">Hello Grace<' in html


def test_the_customer_picker_searches_the_project_only(draft, marketer, project, other_project):
    CustomerFactory(project=project, name="Grace Hopper")
    CustomerFactory(project=other_project, name="Grace Rival")

    response = signed_in(marketer).get(editor_url(draft) + "customers/", {"q": "grace"})

    html = response.content.decode()
    assert "Grace Hopper" in html
    assert "Grace Rival" not in html


# --- Changes ----------------------------------------------------------------------------------------


def test_adding_a_block_renders_it_focused_and_stores_nothing(draft, marketer):
    with nothing_changes():
        response = signed_in(marketer).post(editor_url(draft), {**email_form(), "op": "add:divider"}, **HTMX)

    html = response.content.decode()
    assert html.count('name="block"') == 3
    assert '<input type="hidden" name="b2-type" value="divider">' in html
    assert 'id="f-b2-width"' in html and "autofocus" in html


def test_without_htmx_a_change_answers_the_whole_page(draft, marketer):
    response = signed_in(marketer).post(editor_url(draft), {**email_form(), "op": "add:image"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<!doctype html>" in html and html.count('name="block"') == 3
    assert 'name="b2-type" value="image"' in html


def test_moving_a_block_up_swaps_it_with_the_one_before(draft, marketer):
    response = signed_in(marketer).post(editor_url(draft), {**email_form(), "op": "up:1"}, **HTMX)

    html = response.content.decode()
    assert html.index('name="b0-type" value="button"') < html.index('name="b1-type" value="text"')


def test_a_posted_order_is_the_new_order(draft, marketer):
    """Drag and drop only moves the DOM nodes: the hidden `block` inputs arrive in the new order."""
    response = signed_in(marketer).post(
        editor_url(draft), {**email_form(), "block": ["1", "0"], "op": "reorder"}, **HTMX
    )

    html = response.content.decode()
    assert 'name="b0-type" value="button"' in html and 'name="b1-type" value="text"' in html


def test_removing_a_block(draft, marketer):
    response = signed_in(marketer).post(editor_url(draft), {**email_form(), "op": "remove:0"}, **HTMX)

    html = response.content.decode()
    assert html.count('name="block"') == 1
    assert 'name="b0-type" value="button"' in html


def test_a_bad_value_is_named_next_to_its_field_and_the_preview_keeps_its_last_version(draft, marketer):
    form = email_form(**{"b1-link": "javascript:alert(1)", "b0-size": "99"})

    with nothing_changes():
        response = signed_in(marketer).post(editor_url(draft), form, **HTMX)

    html = response.content.decode()
    assert response.headers["HX-Reswap"] == "none"  # only out-of-band parts: the field typed in stays
    assert '<div id="e-b1-link" class="field-errors" hx-swap-oob="true"><p class="error">Unsafe link' in html
    assert (
        '<div id="e-b0-size" class="field-errors" hx-swap-oob="true">'
        '<p class="error">A whole number from 10 to 48.</p>' in html
    )
    assert 'id="preview-frame"' not in html
    assert "fix the 2 fields marked in the editor" in html


def test_an_unknown_variable_is_refused_at_save_next_to_the_subject(draft, marketer):
    with nothing_changes():
        response = signed_in(marketer).post(
            editor_url(draft), {**email_form(subject="Hi {{ customer.password }}"), "op": "save"}, **HTMX
        )

    html = response.content.decode()
    assert "Not saved: fix the fields marked below." in html
    assert "Unknown variable {{customer.password}}" in html
    assert 'id="f-subject"' in html and 'aria-invalid="true"' in html


def test_save_stores_the_design_on_the_distribution_channel(draft, marketer):
    response = signed_in(marketer).post(editor_url(draft), {**email_form(), "op": "save"}, **HTMX)

    assert response.status_code == 200
    assert "Email message saved." in response.content.decode()
    template = channel(draft, "email").template
    assert template["subject"] == "Hello {{ customer.first_name | friend }}"
    assert [block["type"] for block in template["design"]["body"]] == ["text", "button"]
    assert template["design"]["body"][0]["runs"][1] == {
        "text": "{{ customer.name }}",
        "bold": True,
        "italic": False,
        "link": "",
    }
    assert "compiled" not in template  # compiled when a template version is made
    assert draft.activities.filter(kind="updated").count() == 1


def test_save_without_htmx_redirects_back_to_the_editor(draft, marketer):
    response = signed_in(marketer).post(editor_url(draft), {**email_form(), "op": "save"})

    assert response.status_code == 302
    assert response["Location"] == editor_url(draft)
    assert channel(draft, "email").template["preheader"] == "Spring is here"


def test_the_saved_design_opens_again_as_it_was(draft, marketer):
    client = signed_in(marketer)
    client.post(editor_url(draft), {**email_form(), "op": "save"}, **HTMX)

    html = client.get(editor_url(draft)).content.decode()

    assert "Hi **{{ customer.name }}**, see [our shop](https://shop.example.com).</textarea>" in html
    assert 'name="b1-label" value="Shop now"' in html


def test_the_flier_replaces_the_content_as_a_starting_point(draft, marketer):
    response = signed_in(marketer).post(editor_url(draft), {**email_form(), "op": "starter:flier"}, **HTMX)

    html = response.content.decode()
    assert 'name="subject" value="Spring sale"' in html
    types = [f'name="b{i}-type" value="{kind}"' for i, kind in enumerate(["text", "image", "text", "image"])]
    assert all(t in html for t in types)
    assert 'value="button"' in html and 'value="divider"' in html
    assert 'id="blocks-heading" tabindex="-1" autofocus' in html


def test_an_owner_sets_the_project_sender_with_the_email(draft, owner, project):
    form = {
        **email_form(),
        "from_name": "Acme",
        "from_address": "news@acme.test",
        "reply_to": "",
        "op": "save",
    }

    signed_in(owner).post(editor_url(draft), form, **HTMX)

    project.refresh_from_db()
    assert (project.email_from_name, project.email_from_address) == ("Acme", "news@acme.test")
    assert channel(draft, "email").template["subject"] == form["subject"]


def test_a_bad_sender_address_is_named_next_to_it_and_nothing_is_saved(draft, owner, project):
    form = {**email_form(), "from_name": "Acme", "from_address": "not-an-address", "op": "save"}

    with nothing_changes():
        response = signed_in(owner).post(editor_url(draft), form, **HTMX)

    assert (
        '<div id="e-from_address" class="field-errors"><p class="error">&#x27;not-an-address&#x27; is not'
        in (response.content.decode())
    )
    project.refresh_from_db()
    assert project.email_from_address == ""


def test_a_marketer_sees_the_sender_but_cannot_change_it(draft, marketer, project):
    page = signed_in(marketer).get(editor_url(draft)).content.decode()
    signed_in(marketer).post(
        editor_url(draft), {**email_form(), "from_address": "x@evil.test", "op": "save"}, **HTMX
    )

    assert 'name="from_address"' not in page
    assert "Only the project's owners and admins change the sender." in page
    project.refresh_from_db()
    assert project.email_from_address == ""


def test_a_test_send_mails_the_unsaved_email_as_the_chosen_customer_gets_it(draft, marketer, project):
    grace = CustomerFactory(project=project, name="Grace Hopper")
    form = {**email_form(), "customer": grace.public_id, "test_to": "me@acme.test", "op": "test_send"}

    with nothing_changes():
        response = signed_in(marketer).post(editor_url(draft), form, **HTMX)

    assert "Test sent to me@acme.test." in response.content.decode()
    [sent] = mail.outbox
    assert sent.to == ["me@acme.test"] and sent.subject == "[Test] Hello Grace"
    assert "Hi Grace Hopper" in sent.body


def test_a_test_send_to_a_bad_address_says_so_next_to_it(draft, marketer):
    response = signed_in(marketer).post(
        editor_url(draft), {**email_form(), "test_to": "me", "op": "test_send"}, **HTMX
    )

    assert (
        '<div id="e-test_to" class="field-errors" hx-swap-oob="true"><p class="error">&#x27;me&#x27; is not'
        in (response.content.decode())
    )
    assert mail.outbox == []


def test_the_lint_is_shown_beside_the_preview(draft, marketer):
    response = signed_in(marketer).post(editor_url(draft), email_form(), **HTMX)

    assert "{{ customer.name }} has no fallback" in response.content.decode()


def test_an_email_designed_in_the_editor_can_be_sent(project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Thanks",
            "trigger": {"key": "order_paid"},
            "action": {"key": "plain_message"},
            "channels": [{"kind": "email"}],
        },
    )
    signed_in(marketer).post(editor_url(distribution), {**email_form(), "op": "save"}, **HTMX)

    sent = services.distribution_send(project=project, distribution=distribution)

    assert sent.status == DistributionStatus.LIVE
    assert channel(distribution, "email").message_template.content["compiled"]["html"]


# --- Custom HTML ------------------------------------------------------------------------------------

CUSTOM_HTML = '<p>Hi {{ customer.name | there }}</p><a href="{{ unsubscribe.url }}">Unsubscribe</a>'


def test_custom_html_is_refused_for_a_project_not_on_the_enterprise_plan(draft, marketer, project):
    form = {**email_form(), "mode": "html", "custom_html": CUSTOM_HTML, "op": "save"}

    with nothing_changes():
        response = signed_in(marketer).post(editor_url(draft), form, **HTMX)

    html = response.content.decode()
    assert project.plan == Project.Plan.STANDARD
    assert "Custom HTML is an enterprise-plan feature and this project is on the Standard plan" in html
    assert channel(draft, "email").template == {}


def test_switching_to_custom_html_is_refused_for_a_project_not_on_the_enterprise_plan(draft, marketer):
    response = signed_in(marketer).post(editor_url(draft), {**email_form(), "op": "mode:html"}, **HTMX)

    html = response.content.decode()
    assert "Custom HTML is an enterprise-plan feature" in html
    assert 'name="custom_html"' not in html


def test_an_enterprise_project_saves_custom_html(draft, marketer, project):
    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.ENTERPRISE)
    client = signed_in(marketer)

    switched = client.post(editor_url(draft), {**email_form(), "op": "mode:html"}, **HTMX)
    assert 'name="custom_html"' in switched.content.decode()
    client.post(
        editor_url(draft), {**email_form(), "mode": "html", "custom_html": CUSTOM_HTML, "op": "save"}, **HTMX
    )

    back = client.post(
        editor_url(draft),
        {"subject": "S", "mode": "html", "custom_html": CUSTOM_HTML, "op": "mode:design"},
        **HTMX,
    ).content.decode()
    assert 'name="custom_html"' not in back and "Here is your personal code:" in back
    assert channel(draft, "email").template == {
        "subject": email_form()["subject"],
        "preheader": "Spring is here",
        "custom_html": CUSTOM_HTML,
    }


# --- SMS, webhook, integrations -----------------------------------------------------------------------


def test_the_sms_counter_switches_to_ucs2_for_a_character_outside_gsm(draft, marketer):
    client = signed_in(marketer)
    gsm = client.post(editor_url(draft, "sms"), {"body": "a" * 100}, **HTMX).content.decode()
    ucs2 = client.post(editor_url(draft, "sms"), {"body": "a" * 100 + "😀"}, **HTMX).content.decode()

    assert "<strong>1 segment</strong> · 100 characters" in gsm and "GSM-7" in gsm
    assert "<strong>2 segments</strong> · 101 characters" in ucs2 and "UCS-2" in ucs2


def test_an_sms_over_ten_segments_is_refused_at_save(draft, marketer):
    with nothing_changes():
        response = signed_in(marketer).post(
            editor_url(draft, "sms"), {"body": "é😀" * 400, "op": "save"}, **HTMX
        )

    assert "at most 10 are allowed" in response.content.decode()


def test_the_sms_saves_its_text(draft, marketer):
    signed_in(marketer).post(
        editor_url(draft, "sms"), {"body": "Hi {{ customer.first_name | you }}", "op": "save"}, **HTMX
    )

    assert channel(draft, "sms").template == {"body": "Hi {{ customer.first_name | you }}"}


def test_the_webhook_designer_previews_the_envelope_the_receiver_gets(draft, marketer, project):
    grace = CustomerFactory(project=project, name="Grace Hopper")
    form = {
        "url": "https://hooks.example.com/in",
        "event_name": "spring.news",
        "payload": '{"who": "{{ customer.name }}", "code": "{{ voucher.code }}"}',
        "customer": grace.public_id,
    }

    html = signed_in(marketer).post(editor_url(draft, "webhook"), form, **HTMX).content.decode()

    assert "POST https://hooks.example.com/in" in html
    assert "&quot;type&quot;: &quot;spring.news&quot;" in html
    assert "&quot;who&quot;: &quot;Grace Hopper&quot;" in html


def test_a_webhook_payload_that_is_not_json_is_named_next_to_it(draft, marketer):
    with nothing_changes():
        response = signed_in(marketer).post(
            editor_url(draft, "webhook"),
            {"url": "https://hooks.example.com/in", "event_name": "x", "payload": "{oops", "op": "save"},
            **HTMX,
        )

    assert (
        '<div id="e-payload" class="field-errors"><p class="error">Not valid JSON'
        in response.content.decode()
    )


def test_the_webhook_saves_its_settings_and_payload(draft, marketer):
    signed_in(marketer).post(
        editor_url(draft, "webhook"),
        {
            "url": "https://hooks.example.com/in",
            "event_name": "spring.news",
            "payload": '{"a": 1}',
            "op": "save",
        },
        **HTMX,
    )

    saved = channel(draft, "webhook")
    assert saved.settings == {"url": "https://hooks.example.com/in"}
    assert saved.template == {"event_name": "spring.news", "payload": {"a": 1}, "raw_payload": False}


def test_a_webhook_url_the_distribution_refuses_is_named_next_to_it(draft, marketer):
    with nothing_changes():
        response = signed_in(marketer).post(
            editor_url(draft, "webhook"),
            {"url": "ftp://hooks.example.com/in", "event_name": "x", "payload": "{}", "op": "save"},
            **HTMX,
        )

    assert '<div id="e-url" class="field-errors"><p class="error">must be an http(s) URL' in (
        response.content.decode()
    )


def test_braze_attributes_preview_the_users_track_call(project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Codes to Braze",
            "trigger": {"key": "order_paid"},
            "action": {"key": "publish_codes"},
            "channels": [{"kind": "braze"}],
        },
    )
    html = (
        signed_in(marketer)
        .post(editor_url(distribution, "braze"), {"fields": "promo = {{ voucher.code }}"}, **HTMX)
        .content.decode()
    )

    assert "POST /users/track" in html
    assert "&quot;promo&quot;: &quot;SAMPLE-CODE-1234&quot;" in html


def test_mailchimp_merge_fields_preview_the_member_upsert_and_save(project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Codes to Mailchimp",
            "trigger": {"key": "order_paid"},
            "action": {"key": "publish_codes"},
            "channels": [{"kind": "mailchimp"}],
        },
    )
    client = signed_in(marketer)
    form = {
        "fields": "CODE = {{ voucher.code }}\nFNAME = {{ customer.first_name }}",
        "status_if_new": "pending",
    }

    html = client.post(editor_url(distribution, "mailchimp"), form, **HTMX).content.decode()
    client.post(editor_url(distribution, "mailchimp"), {**form, "op": "save"}, **HTMX)

    assert "PUT /3.0/lists/(your list)/members/" in html
    assert (
        "&quot;CODE&quot;: &quot;SAMPLE-CODE-1234&quot;" in html
        and "&quot;FNAME&quot;: &quot;Ada&quot;" in html
    )
    assert channel(distribution, "mailchimp").template == {
        "merge_fields": {"CODE": "{{ voucher.code }}", "FNAME": "{{ customer.first_name }}"},
        "status_if_new": "pending",
    }


def test_a_mailchimp_line_without_a_name_is_named_next_to_the_fields(project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={"name": "M", "trigger": {"key": "order_paid"}, "action": {"key": "publish_codes"}},
    )

    with nothing_changes():
        response = signed_in(marketer).post(
            editor_url(distribution, "mailchimp"), {"fields": "just text", "op": "save"}, **HTMX
        )

    assert '<div id="e-fields" class="field-errors"><p class="error">Line 1: write MERGE FIELD = value.' in (
        response.content.decode()
    )


# --- Who may do what ----------------------------------------------------------------------------------


def test_a_viewer_sees_a_read_only_preview(draft, viewer):
    response = signed_in(viewer).get(editor_url(draft))

    html = response.content.decode()
    assert response.status_code == 200
    assert "read-only access" in html
    assert "srcdoc=" in html
    assert 'value="save"' not in html and "Add block" not in html
    assert '<fieldset class="editor-fieldset" disabled>' in html


def test_a_viewer_previews_as_a_chosen_customer_by_link(draft, viewer, project):
    grace = CustomerFactory(project=project, name="Grace Hopper")

    html = signed_in(viewer).get(editor_url(draft), {"customer": grace.public_id}).content.decode()

    assert "A code for you, Grace" in html
    assert f'href="{editor_url(draft)}?customer={grace.public_id}" aria-current="true"' in html


@pytest.mark.parametrize("op", ["save", "add:text", "preview", ""])
def test_a_viewer_gets_403_on_every_change(draft, viewer, op):
    with nothing_changes():
        response = signed_in(viewer).post(editor_url(draft), {**email_form(), "op": op}, **HTMX)

    assert response.status_code == 403


@pytest.mark.parametrize("kind", ["email", "sms", "webhook"])
def test_another_projects_distribution_is_404(draft, outsider, kind):
    client = signed_in(outsider)

    assert client.get(editor_url(draft, kind)).status_code == 404
    with nothing_changes():
        assert client.post(editor_url(draft, kind), {**email_form(), "op": "save"}).status_code == 404
    assert client.get(editor_url(draft, kind) + "customers/").status_code == 404


def test_an_unknown_channel_is_404(draft, marketer):
    assert signed_in(marketer).get(editor_url(draft, "fax")).status_code == 404


def test_a_distribution_that_started_sending_refuses_edits_and_says_why(draft, marketer):
    client = signed_in(marketer)
    client.get(editor_url(draft))  # a tab opened while it was a draft...
    Distribution.objects.for_project(draft.project).filter(pk=draft.pk).update(
        status=DistributionStatus.SENDING, sending_started_at=timezone.now()
    )

    with nothing_changes():
        response = client.post(editor_url(draft), {**email_form(), "op": "save"}, **HTMX)

    assert response.status_code == 409
    assert response.headers["HX-Retarget"] == "#editor-alerts"
    assert "started sending" in response.content.decode()
    assert "can no longer be edited" in response.content.decode()
    page = client.get(editor_url(draft)).content.decode()
    assert "started sending" in page and 'value="save"' not in page
