"""Another project's keys never reach our redemptions, codes, balances or referrals: 404 (or an
empty list), and nothing of ours changes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from campaigns.models import Campaign, Publication, Redemption, Referral, Voucher
from customers.models import Customer, CustomEvent, Order
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import redeem

pytestmark = pytest.mark.django_db

# For tests/tenancy/test_isolation_matrix.py: the routes this module tests with another project's keys.
ISOLATION_ROUTES = [
    ("POST", "/v1/redemptions"),
    ("GET", "/v1/redemptions"),
    ("GET", "/v1/redemptions/r_example"),
    ("POST", "/v1/redemptions/r_example/rollback"),
    ("GET", "/v1/vouchers/CODE/redemption"),
    ("PUT", "/v1/vouchers/CODE"),
    ("DELETE", "/v1/vouchers/CODE"),
    ("POST", "/v1/vouchers/CODE/enable"),
    ("POST", "/v1/vouchers/CODE/disable"),
    ("POST", "/v1/vouchers/CODE/balance"),
]


def _our_state(project) -> dict[str, list[Any]]:
    return {
        model.__name__: list(model.objects.for_project(project).order_by("pk").values())
        for model in (
            Campaign,
            Voucher,
            Publication,
            Redemption,
            Referral,
            Customer,
            Order,
            CustomEvent,
            DomainEvent,
        )
    }


@contextmanager
def ours_unchanged(project) -> Iterator[None]:
    before = _our_state(project)
    yield
    assert _our_state(project) == before


@pytest.fixture
def ours(api, project) -> dict[str, str]:
    make_campaign(project, name="Ours", codes_count=2)
    make_campaign(project, name="Cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    make_campaign(project, name="Friends", campaign_type="REFERRAL_PROGRAM", codes_count=1)
    code, spare = (
        Voucher.objects.for_project(project).filter(campaign__name="Ours").values_list("code", flat=True)
    )
    card = Voucher.objects.for_project(project).get(campaign__name="Cards").code
    referral = api.post(
        "/v1/publications",
        {"customer": {"source_id": "alice"}, "campaign": {"name": "Friends"}},
        format="json",
    ).json()["voucher"]["code"]
    redemption = redeem(api, code, customer={"source_id": "alice"}).json()["redemptions"][0]["id"]
    return {"code": code, "spare": spare, "card": card, "referral": referral, "redemption": redemption}


ATTEMPTS = [
    ("get", "/v1/redemptions/{redemption}", None),
    ("post", "/v1/redemptions/{redemption}/rollback", None),
    ("get", "/v1/vouchers/{code}/redemption", None),
    ("put", "/v1/vouchers/{spare}", {"metadata": {"mine": True}}),
    ("delete", "/v1/vouchers/{spare}?force=true", None),
    ("post", "/v1/vouchers/{spare}/enable", None),
    ("post", "/v1/vouchers/{spare}/disable", None),
    ("post", "/v1/vouchers/{card}/balance", {"amount": 500}),
    ("post", "/v1/vouchers/{card}/balance", {"amount": -500}),
]


@pytest.mark.parametrize(("method", "path", "body"), ATTEMPTS, ids=[f"{m} {p}" for m, p, _ in ATTEMPTS])
def test_an_outsider_gets_404_and_changes_nothing(
    outsider_api, project, other_project, ours, method, path, body
):
    with ours_unchanged(project), ours_unchanged(other_project):
        response = getattr(outsider_api, method)(path.format(**ours), body, format="json")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("code", ["spare", "card", "referral"])
def test_an_outsider_redeeming_our_code_finds_no_such_code(outsider_api, project, other_project, ours, code):
    with ours_unchanged(project):
        response = redeem(outsider_api, ours[code], customer={"source_id": "alice"}, order={"amount": 500})

    assert_error(response, 404, "not_found")
    # The refusal is recorded in the outsider's own project, naming no object of ours.
    failed = Redemption.objects.for_project(other_project).get()
    assert (failed.failure_code, failed.voucher_id, failed.campaign_id) == ("resource_not_found", None, None)


def test_an_outsiders_list_shows_none_of_our_redemptions(outsider_api, ours):
    for query in ("", "?customer=alice", "?campaign=Ours", f"?voucher={ours['code']}"):
        body = outsider_api.get(f"/v1/redemptions{query}").json()
        assert (body["redemptions"], body["total"]) == ([], 0)


def test_an_outsiders_custom_event_naming_our_referral_code_refers_nobody(outsider_api, project, ours):
    with ours_unchanged(project):
        response = outsider_api.post(
            "/v1/events",
            {"event": "signed_up", "customer": {"source_id": "bob"}, "referral": {"code": ours["referral"]}},
            format="json",
        )

    assert response.status_code == 200
    assert not Referral.objects.unscoped().exists()
