"""The Create distribution wizard through the Django test client: each step saves a draft through
the services, bad input is refused next to its field, Save & Send is one send however often it is
clicked, a stale tab is refused, CSRF holds on htmx posts, and viewers can change nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from campaigns.models import ValidationRule
from distributions import services
from distributions.models import ActivityKind, Distribution, DistributionActivity, DistributionStatus
from segments.models import Segment
from tests.campaigns.factories import make_campaign
from tests.dashboard.conftest import signed_in
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def step(distribution: Distribution, name: str) -> str:
    return f"/distributions/{distribution.public_id}/wizard/{name}/"


def only_distribution(project) -> Distribution:
    return Distribution.objects.for_project(project).get()


@pytest.fixture
def client(marketer) -> Client:
    return signed_in(marketer)


@pytest.fixture
def draft(project, marketer) -> Distribution:
    return services.distribution_create(project=project, fields={"name": "Big spenders"}, by=marketer)


def ready_manual(project, marketer) -> Distribution:
    """A complete manual distribution: one customer, a plain message by email."""
    ada = CustomerFactory(project=project, email="ada@example.com", name="Ada")
    return services.distribution_create(
        project=project,
        fields={
            "name": "Hello Ada",
            "trigger": {"key": "manual"},
            "audience": {"type": "customer", "customer": ada.public_id},
            "action": {"key": "plain_message"},
            "channels": [{"kind": "email", "template": {"subject": "Hi", "body": "Hello there."}}],
        },
        by=marketer,
    )


# --- Creating and resuming ---------------------------------------------------------------------------


def test_the_first_step_lists_every_category_and_creates_the_draft_when_a_trigger_is_chosen(client, project):
    page = client.get("/distributions/new/")
    html = page.content.decode()
    for label in (
        "Manual message",
        "Custom event",
        "Cart",
        "Publishing codes",
        "Referral",
        "Customer rewards",
    ):
        assert label in html
    assert 'hx-trigger="keyup changed delay:250ms, search"' in html

    response = client.post(
        "/distributions/new/", {"trigger": "order_paid", "name": "Paid", "intent": "choose"}, **HTMX
    )

    distribution = only_distribution(project)
    assert (distribution.status, distribution.trigger_key, distribution.name) == (
        "draft",
        "order_paid",
        "Paid",
    )
    assert response.headers["HX-Redirect"] == step(distribution, "trigger")


def test_the_trigger_search_filters_as_you_type(client):
    response = client.get("/distributions/wizard/triggers/", {"q": "paid"}, **HTMX)

    html = response.content.decode()
    assert 'value="order_paid"' in html
    assert 'value="order_created"' not in html and 'value="manual"' not in html


def test_a_draft_resumes_on_its_step_after_a_reload(client, project, marketer):
    campaign = make_campaign(project, name="Black Friday", codes_count=3)
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Paid",
            "trigger": {"key": "order_paid"},
            "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
        },
        by=marketer,
    )

    html = client.get(step(distribution, "action")).content.decode()

    assert 'aria-current="step"' in html and "2. Action" in html
    assert f'<option value="{campaign.public_id}" selected>' in html


def test_next_on_the_trigger_step_saves_it_and_shows_the_action_step_at_its_url(client, project, draft):
    response = client.post(
        step(draft, "trigger"), {"name": "Paid orders", "trigger": "order_paid", "intent": "next"}, **HTMX
    )

    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == step(draft, "action")
    assert "2. Action" in response.content.decode()
    draft.refresh_from_db()
    assert (draft.name, draft.trigger_key, draft.kind) == ("Paid orders", "order_paid", "automatic")


def test_the_action_step_offers_only_what_the_trigger_allows(client, project, marketer):
    distribution = services.distribution_create(
        project=project, fields={"name": "Tier", "trigger": {"key": "tier_upgraded"}}, by=marketer
    )

    html = client.get(step(distribution, "action")).content.decode()

    assert 'value="plain_message"' in html
    assert 'value="publish_codes"' not in html and 'value="notify_promotion"' not in html


def test_the_action_step_warns_when_the_campaign_has_fewer_free_codes_than_the_audience(
    client, project, marketer
):
    people = [CustomerFactory(project=project, source_id=f"p{n}") for n in range(3)]
    from segments.services import segment_create

    segment = segment_create(
        project=project, name="Three", type="static", customers=[p.source_id for p in people]
    )
    campaign = make_campaign(project, name="Tiny", codes_count=2)
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Codes",
            "trigger": {"key": "manual"},
            "audience": {"type": "segment", "segment": segment.public_id},
            "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
        },
        by=marketer,
    )

    html = client.get(step(distribution, "action")).content.decode()

    assert "Tiny has 2 free codes for an audience of 3: 1 customer would get no code." in html


def test_adding_a_channel_gives_it_a_working_starter_message_and_an_edit_message_link(
    client, project, marketer
):
    campaign = make_campaign(project, name="Black Friday", codes_count=3)
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Paid",
            "trigger": {"key": "order_paid"},
            "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
        },
        by=marketer,
    )

    response = client.post(
        f"/distributions/{distribution.public_id}/wizard/channels/add/", {"kind": "email"}, **HTMX
    )

    channel = distribution.channels.get()
    assert channel.kind == "email"
    assert "{{ voucher.code }}" in channel.template["body"] and channel.template["subject"]
    html = response.content.decode()
    assert f'href="/distributions/{distribution.public_id}/channels/email/editor/"' in html
    assert 'id="add-email"' not in html  # added channels are no longer offered
    assert 'id="add-webhook"' in html and 'id="add-sms"' in html


def test_a_channel_the_action_does_not_allow_cannot_be_added(client, project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={"name": "Plain", "trigger": {"key": "manual"}, "action": {"key": "plain_message"}},
        by=marketer,
    )

    response = client.post(
        f"/distributions/{distribution.public_id}/wizard/channels/add/", {"kind": "webhook"}, **HTMX
    )

    assert response.status_code == 422
    assert "cannot be added" in response.content.decode()
    assert not distribution.channels.exists()


def test_the_summary_tells_the_configuration_in_words(client, project, marketer):
    campaign = make_campaign(project, name="Black Friday", codes_count=3)
    rule = ValidationRule.objects.for_project(project).none()
    from campaigns.validation_rules.services import validation_rule_create

    rule = validation_rule_create(
        project=project,
        fields={
            "name": "Over $99",
            "rules": {"1": {"name": "order.amount", "conditions": {"$more_than": [9900]}}},
        },
    )
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Paid",
            "trigger": {"key": "order_paid", "params": {"validation_rule": rule.public_id}},
            "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
            "channels": [
                {"kind": "email", "template": {"subject": "Hi", "body": "Your code {{ voucher.code }}"}},
                {"kind": "webhook", "settings": {"url": "https://example.com/hooks"}},
            ],
        },
        by=marketer,
    )

    html = client.get(step(distribution, "summary")).content.decode()

    assert (
        "When a customer pays an order and the order amount is above $99, publish a code from "
        "“Black Friday” and send it by email and webhook."
    ) in html


# --- Bad input ----------------------------------------------------------------------------------------


def test_next_without_a_name_or_required_parameter_shows_the_errors_next_to_the_fields_and_saves_nothing(
    client, project, marketer
):
    distribution = services.distribution_create(
        project=project, fields={"trigger": {"key": "segment_entered"}}, by=marketer
    )

    response = client.post(
        step(distribution, "trigger"), {"trigger": "segment_entered", "name": "", "intent": "next"}, **HTMX
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_name_error">Name: Give the distribution a name.</p>' in html
    assert 'id="id_segment_error">Segment: Choose a segment.</p>' in html
    distribution.refresh_from_db()
    assert distribution.name == ""


def test_a_parameter_naming_another_projects_object_is_refused_next_to_its_field(
    client, project, other_project, draft
):
    theirs = make_campaign(other_project, name="Theirs", codes_count=1)

    response = client.post(
        step(draft, "trigger"),
        {"trigger": "code_published", "name": "X", "campaign": theirs.public_id, "intent": "next"},
        **HTMX,
    )

    assert response.status_code == 422
    assert (
        f'id="id_campaign_error">Campaign: cannot find campaign with id {theirs.public_id}</p>'
        in response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.trigger_key == ""


def test_a_time_frame_ending_before_it_starts_is_refused_next_to_live_until(client, project, draft):
    response = client.post(
        step(draft, "trigger"),
        {
            "trigger": "order_paid",
            "name": "X",
            "live_from": "2031-01-02T10:00",
            "live_until": "2031-01-01T10:00",
            "intent": "next",
        },
        **HTMX,
    )

    assert response.status_code == 422
    assert (
        'id="id_live_until_error">Live until: must be later than live_from</p>' in response.content.decode()
    )


def test_a_webhook_without_a_url_is_refused_next_to_the_url(client, project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Hook",
            "trigger": {"key": "order_paid"},
            "action": {"key": "plain_message"},
            "channels": [{"kind": "webhook"}],
        },
        by=marketer,
    )

    response = client.post(step(distribution, "channels"), {"webhook-url": "", "intent": "next"}, **HTMX)

    assert response.status_code == 422
    assert "Webhook URL: Give the URL the webhook is sent to." in response.content.decode()


def test_save_and_send_on_an_incomplete_draft_lists_what_is_missing_with_links_to_the_steps(client, draft):
    response = client.post(f"/distributions/{draft.public_id}/wizard/send/", **HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "Not sent: finish these first." in html
    assert f'<a href="{step(draft, "trigger")}"' in html and "Trigger</a>: is required" in html
    assert f'<a href="{step(draft, "action")}"' in html and "Action</a>: is required" in html
    assert (
        f'<a href="{step(draft, "channels")}"' in html
        and "Channels</a>: at least one channel is required" in html
    )
    draft.refresh_from_db()
    assert draft.status == DistributionStatus.DRAFT


def test_double_clicking_save_and_send_makes_one_send(client, project, marketer):
    distribution = ready_manual(project, marketer)
    url = f"/distributions/{distribution.public_id}/wizard/send/"

    first = client.post(url, **HTMX)
    second = client.post(url, **HTMX)

    assert first.status_code == second.status_code == 200
    assert 'data-countdown="' in second.content.decode() and "Stop" in second.content.decode()
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.SCHEDULED
    scheduled = DistributionActivity.objects.for_project(project).filter(
        distribution=distribution, kind=ActivityKind.SCHEDULED
    )
    assert scheduled.count() == 1
    assert (
        'hx-disabled-elt="#save-send"'
        in client.get(step(ready_manual(project, marketer), "summary")).content.decode()
    )


def test_stop_inside_the_window_cancels_and_nothing_is_sent(client, project, marketer):
    distribution = ready_manual(project, marketer)
    client.post(f"/distributions/{distribution.public_id}/wizard/send/", **HTMX)

    response = client.post(f"/distributions/{distribution.public_id}/wizard/stop/", **HTMX)

    assert "Stopped before sending: nothing was sent." in response.content.decode()
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.CANCELED


def test_a_stale_tab_editing_a_distribution_that_started_sending_is_refused_with_a_clear_message(
    client, project, marketer
):
    distribution = ready_manual(project, marketer)
    services.distribution_send(project=project, distribution=distribution)
    Distribution.objects.for_project(project).filter(pk=distribution.pk).update(
        status=DistributionStatus.SENDING
    )

    response = client.post(
        step(distribution, "trigger"), {"trigger": "manual", "name": "Changed", "intent": "next"}, **HTMX
    )

    assert response.status_code == 409
    assert (
        "started sending" in response.content.decode()
        and "can no longer be changed" in response.content.decode()
    )
    distribution.refresh_from_db()
    assert distribution.name == "Hello Ada"


def test_csrf_is_enforced_on_htmx_posts(marketer, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    url = step(draft, "trigger")

    refused = client.post(url, {"trigger": "order_paid", "name": "No token", "intent": "draft"}, **HTMX)
    client.get(url)  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        url,
        {"trigger": "order_paid", "name": "With token", "intent": "draft"},
        HTTP_X_CSRFTOKEN=token,
        **HTMX,
    )

    assert refused.status_code == 403
    assert accepted.status_code == 200
    draft.refresh_from_db()
    assert draft.name == "With token"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/distributions/new/"),
        ("post", "/distributions/new/"),
        ("get", "/distributions/{id}/wizard/trigger/"),
        ("post", "/distributions/{id}/wizard/trigger/"),
        ("post", "/distributions/{id}/wizard/channels/add/"),
        ("post", "/distributions/{id}/wizard/send/"),
        ("post", "/distributions/{id}/wizard/stop/"),
        ("get", "/distributions/wizard/triggers/"),
        ("get", "/distributions/wizard/pick/campaign/"),
        ("post", "/distributions/wizard/segments/new/"),
        ("post", "/distributions/wizard/rules/new/"),
        ("post", "/distributions/wizard/customers/new/"),
    ],
)
def test_viewers_get_403_on_every_wizard_endpoint_and_nothing_changes(viewer, draft, method, path):
    response = getattr(signed_in(viewer), method)(
        path.format(id=draft.public_id), {"name": "Viewer was here", "kind": "email", "trigger": "manual"}
    )

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.name == "Big spenders" and not draft.channels.exists()


def test_viewers_see_no_create_distribution_control(viewer, marketer, draft):
    assert "/distributions/new/" not in signed_in(viewer).get("/distributions/").content.decode()
    assert "/distributions/new/" in signed_in(marketer).get("/distributions/").content.decode()


def test_another_projects_distribution_is_a_404(outsider, draft):
    assert signed_in(outsider).get(step(draft, "trigger")).status_code == 404


# --- Creating inline ----------------------------------------------------------------------------------


def test_a_segment_made_inline_is_a_draft_until_the_distribution_is_saved(client, project, marketer):
    distribution = services.distribution_create(
        project=project, fields={"name": "Entered", "trigger": {"key": "segment_entered"}}, by=marketer
    )

    response = client.post(
        "/distributions/wizard/segments/new/",
        {
            "segment-name": "Big spenders",
            "segment-type": "auto-update",
            "segment-field_0": "summary.orders.total_amount",
            "segment-operator_0": "$more_than",
            "segment-value_0": "10000",
        },
        **HTMX,
    )

    segment = Segment.objects.for_project(project).get(name="Big spenders")
    assert segment.is_draft
    html = response.content.decode()
    assert f'<option value="{segment.public_id}" selected>' in html
    assert "sending starts 10 minutes after it syncs" in html

    client.post(
        step(distribution, "trigger"),
        {"trigger": "segment_entered", "name": "Entered", "segment": segment.public_id, "intent": "draft"},
        **HTMX,
    )

    segment.refresh_from_db()
    assert not segment.is_draft


def test_a_validation_rule_made_inline_is_saved_and_chosen(client, project):
    response = client.post(
        "/distributions/wizard/rules/new/",
        {
            "rule-name": "Over $99",
            "rule-field_1": "order.amount",
            "rule-operator_1": "$more_than",
            "rule-value_1": "9900",
            "rule-logic": "1",
        },
        **HTMX,
    )

    rule = ValidationRule.objects.for_project(project).get(name="Over $99")
    assert rule.rules["1"] == {"name": "order.amount", "conditions": {"$more_than": [9900]}}
    assert f'<option value="{rule.public_id}" selected>' in response.content.decode()


def test_a_bad_validation_rule_is_refused_next_to_the_editor_and_nothing_is_saved(client, project):
    response = client.post(
        "/distributions/wizard/rules/new/",
        {
            "rule-name": "Broken",
            "rule-field_1": "order.amount",
            "rule-operator_1": "$contains",
            "rule-value_1": "x",
        },
        **HTMX,
    )

    assert response.status_code == 422
    assert "operator $contains is not allowed here" in response.content.decode()
    assert not ValidationRule.objects.for_project(project).exists()


def test_a_customer_made_inline_is_chosen(client, project):
    response = client.post(
        "/distributions/wizard/customers/new/",
        {"customer-name": "Grace", "customer-email": "grace@example.com"},
        **HTMX,
    )

    from customers.models import Customer

    grace = Customer.objects.for_project(project).get(email="grace@example.com")
    assert f'<option value="{grace.public_id}" selected>' in response.content.decode()


def test_changing_to_a_trigger_that_does_not_offer_a_channel_drops_that_channel(client, project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Hook",
            "trigger": {"key": "order_paid"},
            "action": {"key": "plain_message"},
            "channels": [
                {"kind": "webhook", "settings": {"url": "https://example.com/h"}},
                {"kind": "email"},
            ],
        },
        by=marketer,
    )

    response = client.post(
        step(distribution, "trigger"), {"trigger": "manual", "name": "Hook", "intent": "choose"}, **HTMX
    )

    assert response.status_code == 200
    distribution.refresh_from_db()
    assert (distribution.trigger_key, distribution.action_key) == ("manual", "plain_message")
    assert list(distribution.channels.values_list("kind", flat=True)) == ["email"]


def test_a_syncing_segment_shows_its_live_status_and_when_sending_starts(client, project):
    from segments.services import segment_create

    segment = segment_create(
        project=project,
        name="Fresh",
        type="auto-update",
        filter={"junction": "and", "email": {"conditions": {"$has_value": []}}},
    )

    html = client.get(
        "/distributions/wizard/segments/status/", {"segment": segment.public_id}, **HTMX
    ).content.decode()

    assert 'data-sync="syncing"' in html and 'hx-trigger="every 2s"' in html
    assert "sending starts 10 minutes after it syncs" in html


def test_the_back_button_restoring_a_step_gets_the_whole_page(client, draft):
    response = client.get(step(draft, "trigger"), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)

    assert "<html" in response.content.decode()
    assert "<html" not in client.get(step(draft, "trigger"), **HTMX).content.decode()


def test_a_typed_webhook_url_is_kept_when_another_channel_is_added(client, project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Hook",
            "trigger": {"key": "order_paid"},
            "action": {"key": "plain_message"},
            "channels": [{"kind": "webhook"}],
        },
        by=marketer,
    )

    client.post(
        f"/distributions/{distribution.public_id}/wizard/channels/add/",
        {"kind": "sms", "webhook-url": "https://example.com/hooks"},
        **HTMX,
    )

    assert {c.kind: c.settings for c in distribution.channels.all()} == {
        "webhook": {"url": "https://example.com/hooks"},
        "sms": {},
    }


def test_a_malformed_webhook_url_is_refused_next_to_the_field(client, project, marketer):
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "Hook",
            "trigger": {"key": "order_paid"},
            "action": {"key": "plain_message"},
            "channels": [{"kind": "webhook"}],
        },
        by=marketer,
    )

    response = client.post(
        step(distribution, "channels"), {"webhook-url": "not a url", "intent": "next"}, **HTMX
    )

    assert response.status_code == 422
    assert 'id="id_webhook-url_error">Webhook URL: Enter a valid URL.</p>' in response.content.decode()
    assert distribution.channels.get().settings == {}
