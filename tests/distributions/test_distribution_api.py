"""Create, read, list and update distributions over /v1/distributions; bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from distributions.models import Distribution, DistributionActivity
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.distributions.support import (
    EMAIL,
    WEBHOOK,
    automatic_order_paid,
    manual_publish_codes,
    nothing_changes,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(project):
    return CustomerFactory(project=project, source_id="ada", name="Ada", email="ada@example.com")


@pytest.fixture
def summer(project):
    return make_campaign(project, name="Summer", codes_count=3)


def create(api, body):
    response = api.post("/v1/distributions", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- Create and read ---------------------------------------------------------------------------------


def test_an_empty_draft_can_be_saved_and_is_recorded(api, project):
    body = create(api, {})

    assert body["id"].startswith("distr_")
    assert body["object"] == "distribution"
    assert (body["status"], body["kind"], body["trigger"], body["action"], body["channels"]) == (
        "draft",
        None,
        None,
        None,
        [],
    )
    distribution = Distribution.objects.for_project(project).get(public_id=body["id"])
    assert list(
        DistributionActivity.objects.for_project(project)
        .filter(distribution=distribution)
        .values_list("kind", "actor_label")
    ) == [("created", "API key Test key")]
    event = DomainEvent.objects.for_project(project).get(type="distribution.created")
    assert event.refs == {"distribution": body["id"]}


def test_a_complete_manual_distribution_stores_parameters_as_public_ids(api, ada, summer):
    # given the campaign named by its name and the customer by their source_id
    body = create(api, manual_publish_codes("ada", "Summer", channels=[EMAIL, {"kind": "sms"}]))

    assert body["kind"] == "manual"
    assert body["trigger"] == {
        "key": "manual",
        "category": "manual",
        "event_type": "manual_distribution_schedule",
        "params": {},
    }
    assert body["audience"] == {"type": "customer", "customer": ada.public_id}
    assert body["action"] == {"key": "publish_codes", "params": {"campaign": summer.public_id}}
    assert [(c["kind"], c["position"]) for c in body["channels"]] == [("email", 0), ("sms", 1)]
    assert api.get(f"/v1/distributions/{body['id']}").json() == body


def test_an_automatic_distribution_is_found_by_its_event_type(api, project):
    body = create(api, automatic_order_paid())

    assert body["kind"] == "automatic"
    assert body["trigger"]["event_type"] == "customer.order.paid"
    api.post(f"/v1/distributions/{body['id']}/send")
    live = Distribution.objects.for_project(project).live_for_event_type("customer.order.paid")
    assert [d.public_id for d in live] == [body["id"]]
    assert (
        not Distribution.objects.for_project(project).live_for_event_type("customer.order.created").exists()
    )


# --- Bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"trigger": {"key": "order_shipped"}}, "Property .trigger.key: unknown trigger 'order_shipped'"),
        (
            {"trigger": {"key": "order_paid"}, "action": {"key": "dance"}},
            "Property .action.key: unknown action 'dance'",
        ),
        ({"channels": [{"kind": "pigeon"}]}, "Property .channels[0].kind: unknown channel 'pigeon'"),
        (
            {"trigger": {"key": "manual"}, "action": {"key": "plain_message"}, "channels": [WEBHOOK]},
            "Property .channels[0].kind: channel 'webhook' is not allowed for action 'plain_message' "
            "with trigger 'manual'",
        ),
        (
            {"trigger": {"key": "voucher_redeemed"}, "action": {"key": "publish_codes"}},
            "Property .action.key: action 'publish_codes' is not allowed for trigger 'voucher_redeemed'",
        ),
        (
            {
                "trigger": {"key": "order_paid"},
                "action": {"key": "publish_codes"},
                "channels": [EMAIL, EMAIL],
            },
            "Property .channels[1].kind: channel 'email' is given twice",
        ),
        (
            {"trigger": {"key": "order_paid", "params": {"colour": "red"}}},
            "Property .trigger.params.colour: is not a parameter of this trigger",
        ),
        (
            {"trigger": {"key": "segment_entered", "params": {"segment": "seg_1"}}},
            "Property .trigger.params.segment: cannot find segment with id seg_1",
        ),
        (
            {"channels": [{"kind": "webhook", "settings": {"url": "ftp://files.example.com"}}]},
            "Property .channels[0].settings.url: must be an http(s) URL",
        ),
        (
            {"trigger": {"key": "order_paid"}, "audience": {"type": "customer", "customer": "ada"}},
            "Property .audience: an automatic distribution has no audience: its trigger picks the customer",
        ),
        (
            {"trigger": {"key": "manual"}, "live_until": "2030-01-01T00:00:00Z"},
            "Property .live_until: a manual distribution has no time frame",
        ),
        (
            {"live_from": "2030-01-02T00:00:00Z", "live_until": "2030-01-01T00:00:00Z"},
            "Property .live_until: must be later than live_from",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_wrong_parts_are_refused_naming_the_field_and_nothing_is_created(api, body, details):
    with nothing_changes():
        response = api.post("/v1/distributions", body, format="json")

    assert_error(
        response,
        400,
        "invalid_payload",
        message="Invalid payload",
        details=f"The distribution has invalid parts: {details}",
    )


def test_another_projects_campaign_is_refused_as_missing(api, other_project, ada):
    theirs = make_campaign(other_project, name="Theirs", codes_count=1)

    with nothing_changes():
        response = api.post("/v1/distributions", manual_publish_codes("ada", theirs.public_id), format="json")

    body = assert_error(response, 400, "invalid_payload")
    assert body["details"] == (
        "The distribution has invalid parts: Property .action.params.campaign: "
        f"cannot find campaign with id {theirs.public_id}"
    )


def test_a_campaign_of_the_wrong_type_is_refused_naming_the_types_expected(api, project, ada):
    make_campaign(project, name="Deals", campaign_type="PROMOTION")

    with nothing_changes():
        response = api.post(
            "/v1/distributions",
            {"trigger": {"key": "customer_referred", "params": {"campaign": "Deals"}}},
            format="json",
        )

    body = assert_error(response, 400, "invalid_payload")
    assert "Property .trigger.params.campaign: campaign camp_" in body["details"]
    assert body["details"].endswith("is a PROMOTION campaign; expected REFERRAL_PROGRAM")


def test_several_problems_are_all_named_at_once(api):
    with nothing_changes():
        response = api.post(
            "/v1/distributions",
            {"trigger": {"key": "nope"}, "action": {"key": "nope"}, "channels": [{"kind": "fax"}]},
            format="json",
        )

    assert assert_error(response, 400, "invalid_payload")["details"] == (
        "The distribution has invalid parts: Property .trigger.key: unknown trigger 'nope'; "
        "Property .action.key: unknown action 'nope'; Property .channels[0].kind: unknown channel 'fax'"
    )


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"colour": "red"}, "Property .colour: is not allowed"),
        ({"name": 5}, "Property .name: must be a string"),
        (
            {"channels": {"kind": "email"}},
            'Property .channels: Expected a list of items but got type "dict".',
        ),
        ({"trigger": {"key": "manual", "extra": 1}}, "Property .trigger.extra: is not allowed"),
    ],
)
def test_malformed_bodies_are_refused_by_shape(api, body, details):
    with nothing_changes():
        response = api.post("/v1/distributions", body, format="json")

    assert_error(response, 400, "invalid_payload", details=details)


# --- Update ----------------------------------------------------------------------------------------------


def test_a_draft_takes_partial_updates_and_keeps_the_channel_rows_that_stay(api, project):
    created = create(api, {"name": "Draft", "channels": [EMAIL, {"kind": "sms"}]})
    distribution = Distribution.objects.for_project(project).get(public_id=created["id"])
    email_row = distribution.channels.get(kind="email")

    response = api.patch(
        f"/v1/distributions/{created['id']}",
        {"channels": [{"kind": "webhook"}, {**EMAIL, "template": {"subject": "New"}}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Draft"
    assert [(c["kind"], c["template"]) for c in body["channels"]] == [
        ("webhook", {}),
        ("email", {"subject": "New"}),
    ]
    assert distribution.channels.get(kind="email").pk == email_row.pk
    assert list(
        DistributionActivity.objects.for_project(project)
        .filter(distribution=distribution, kind="updated")
        .values_list("data", flat=True)
    ) == [{"fields": ["channels"]}]


def test_an_empty_update_changes_nothing(api):
    created = create(api, {"name": "Before"})

    with nothing_changes():
        response = api.patch(f"/v1/distributions/{created['id']}", {}, format="json")

    assert response.json() == created


def test_put_is_a_partial_update_too(api):
    created = create(api, {"name": "Before"})

    body = api.put(f"/v1/distributions/{created['id']}", {"name": "After"}, format="json").json()

    assert body["name"] == "After"


def test_changing_the_trigger_under_an_action_it_does_not_allow_is_refused(api, project):
    created = create(api, {"trigger": {"key": "order_paid"}, "action": {"key": "publish_codes"}})

    with nothing_changes():
        response = api.patch(
            f"/v1/distributions/{created['id']}", {"trigger": {"key": "voucher_redeemed"}}, format="json"
        )

    assert_error(response, 400, "invalid_payload")
    assert (
        "action 'publish_codes' is not allowed for trigger 'voucher_redeemed'" in response.json()["details"]
    )


def test_a_live_distribution_can_be_edited_but_must_stay_complete(api):
    created = create(api, automatic_order_paid())
    api.post(f"/v1/distributions/{created['id']}/send")

    renamed = api.patch(f"/v1/distributions/{created['id']}", {"name": "Renamed"}, format="json")
    with nothing_changes():
        emptied = api.patch(f"/v1/distributions/{created['id']}", {"channels": []}, format="json")
    with nothing_changes():
        to_manual = api.patch(
            f"/v1/distributions/{created['id']}", {"trigger": {"key": "manual"}}, format="json"
        )

    assert renamed.status_code == 200
    assert renamed.json()["status"] == "live"
    assert_error(
        emptied,
        400,
        "distribution_incomplete",
        details="A live distribution must stay complete: "
        "Property .channels: at least one channel is required",
    )
    assert_error(to_manual, 400, "invalid_payload")
    assert "cannot change to a trigger of the other kind" in to_manual.json()["details"]


def test_a_scheduled_distribution_can_be_edited_until_its_send_time(api, ada, summer):
    created = create(api, manual_publish_codes("ada", "Summer"))
    start = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        api.post(f"/v1/distributions/{created['id']}/send")
    with time_machine.travel(start + timedelta(minutes=9), tick=False):
        before = api.patch(f"/v1/distributions/{created['id']}", {"name": "Still editable"}, format="json")
    with time_machine.travel(start + timedelta(minutes=10), tick=False), nothing_changes():
        after = api.patch(f"/v1/distributions/{created['id']}", {"name": "Too late"}, format="json")

    assert before.status_code == 200
    assert before.json()["send_at"] == "2030-05-01T12:10:00Z"
    assert_error(after, 400, "invalid_distribution_state")
    assert "its send time has come" in after.json()["details"]


def test_a_distribution_that_started_sending_cannot_be_edited(api, project, ada, summer):
    created = create(api, manual_publish_codes("ada", "Summer"))
    Distribution.objects.for_project(project).filter(public_id=created["id"]).update(status="sending")

    with nothing_changes():
        response = api.patch(f"/v1/distributions/{created['id']}", {"name": "Changed"}, format="json")

    assert_error(
        response,
        400,
        "invalid_distribution_state",
        message="Invalid distribution state",
        details=f"Distribution {created['id']} is sending; "
        "it has started sending and can no longer be edited.",
    )


def test_a_paused_sending_distribution_cannot_be_edited_either(api, project, ada, summer):
    created = create(api, manual_publish_codes("ada", "Summer"))
    Distribution.objects.for_project(project).filter(public_id=created["id"]).update(status="sending")
    api.post(f"/v1/distributions/{created['id']}/pause")

    with nothing_changes():
        response = api.patch(f"/v1/distributions/{created['id']}", {"name": "Changed"}, format="json")

    assert_error(response, 400, "invalid_distribution_state")


# --- List --------------------------------------------------------------------------------------------------


def test_the_list_filters_by_status_name_trigger_category_and_creation_date(api):
    with time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False):
        old = create(api, {"name": "Old newsletter", "trigger": {"key": "manual"}})
    with time_machine.travel(datetime(2030, 2, 1, tzinfo=UTC), tick=False):
        paid = create(api, automatic_order_paid(name="Paid thanks"))
        api.post(f"/v1/distributions/{paid['id']}/send")
        segment = create(api, {"name": "Segment welcome"})
        archived = create(api, {"name": "Gone"})
        api.delete(f"/v1/distributions/{archived['id']}")

    def ids(**query):
        response = api.get("/v1/distributions", query)
        assert response.status_code == 200, response.content
        return [d["id"] for d in response.json()["distributions"]]

    assert ids() == [segment["id"], paid["id"], old["id"]]
    assert ids(status="live") == [paid["id"]]
    assert ids(status="draft,live") == [segment["id"], paid["id"], old["id"]]
    assert ids(status="archived") == [archived["id"]]
    assert ids(name="newsletter") == [old["id"]]
    assert ids(trigger_category="cart") == [paid["id"]]
    assert ids(trigger_category="manual") == [old["id"]]
    assert ids(**{"created_at[before]": "2030-01-15T00:00:00Z"}) == [old["id"]]
    assert ids(**{"created_at[after]": "2030-01-15T00:00:00Z"}) == [segment["id"], paid["id"]]
    assert ids(limit="1", page="2") == [paid["id"]]
    assert api.get("/v1/distributions", {"limit": "1"}).json()["total"] == 3


@pytest.mark.parametrize(
    "query",
    [
        {"status": "exploded"},
        {"trigger_category": "weather"},
        {"created_at[after]": "yesterday"},
        {"limit": "0"},
    ],
)
def test_bad_list_filters_are_refused(api, query):
    assert_error(api.get("/v1/distributions", query), 400, "invalid_query_params")


def test_the_list_runs_a_fixed_number_of_queries(api, django_assert_num_queries):
    for index in range(5):
        create(api, automatic_order_paid(name=f"D{index}", channels=[WEBHOOK, EMAIL]))

    # the API key, the page (with created_by joined) and the channels of the whole page
    with django_assert_num_queries(3):
        response = api.get("/v1/distributions", {"limit": "5"})

    assert len(response.json()["distributions"]) == 5


# --- Catalogue ---------------------------------------------------------------------------------------------


def test_the_catalogue_lists_triggers_with_their_actions_channels_and_required_parameters(api):
    body = api.get("/v1/distributions/catalogue").json()

    manual = next(t for t in body["triggers"] if t["key"] == "manual")
    assert manual["mode"] == "manual"
    assert manual["actions"] == [
        {"key": "notify_promotion", "channels": ["email", "sms", "webhook"]},
        {"key": "publish_codes", "channels": ["email", "sms", "webhook", "mailchimp", "braze"]},
        {"key": "plain_message", "channels": ["email", "sms"]},
    ]
    referred = next(t for t in body["triggers"] if t["key"] == "customer_referred")
    assert referred["required_parameters"] == ["campaign"]
    assert referred["parameters"][0]["campaign_types"] == ["REFERRAL_PROGRAM"]
    publish = next(a for a in body["actions"] if a["key"] == "publish_codes")
    assert (publish["label"], publish["carries_code"], publish["required_parameters"]) == (
        "Send and publish unique codes",
        True,
        ["campaign"],
    )
    assert [c["key"] for c in body["channels"]] == ["email", "sms", "webhook", "mailchimp", "braze"]


def test_the_catalogue_is_searchable_by_category_and_text(api):
    by_category = api.get("/v1/distributions/catalogue", {"category": "segment"}).json()
    by_text = api.get("/v1/distributions/catalogue", {"q": "points expired"}).json()

    assert [t["key"] for t in by_category["triggers"]] == ["segment_entered", "segment_left"]
    assert [t["key"] for t in by_text["triggers"]] == ["loyalty_points_expired"]
    assert_error(api.get("/v1/distributions/catalogue", {"category": "nope"}), 400, "invalid_query_params")
