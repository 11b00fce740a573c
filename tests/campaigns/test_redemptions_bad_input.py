"""Every refused redemption answers Voucherify's error key, records one FAILED redemption, and
changes nothing else: no use of the code, no credits, no customer, order, event or referral."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Campaign, Redemption, Voucher
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import only_a_failed_redemption, redeem

pytestmark = pytest.mark.django_db


@pytest.fixture
def code(project) -> str:
    campaign = make_campaign(
        project,
        name="Welcome",
        codes_count=1,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "redemption": {"quantity": 1},
        },
    )
    return Voucher.objects.for_project(project).get(campaign=campaign).code


def _attempt(api, code, status, key, *, failure_code=None):
    with only_a_failed_redemption() as outcome:
        response = redeem(
            api, code, customer={"source_id": "newcomer"}, order={"source_id": "o-1", "amount": 5000}
        )
    body = assert_error(response, status, key)
    failed = outcome["failed"]
    assert failed["failure_code"] == (failure_code or key)
    assert failed["public_id"].startswith("rf_")
    assert failed["customer_id"] is None  # the customer did not exist, and was not created
    return body, failed


def test_an_unknown_code_is_404_and_recorded_as_resource_not_found(api):
    body, failed = _attempt(api, "NO-SUCH-CODE", 404, "not_found", failure_code="resource_not_found")

    assert (body["resource_type"], body["resource_id"]) == ("voucher", "NO-SUCH-CODE")
    assert (failed["voucher_code"], failed["voucher_id"]) == ("NO-SUCH-CODE", None)


def test_another_projects_code_is_as_unknown_as_a_missing_one(api, other_project):
    make_campaign(other_project, name="Theirs", codes_count=1)
    theirs = Voucher.objects.for_project(other_project).get().code

    _attempt(api, theirs, 404, "not_found", failure_code="resource_not_found")

    assert Voucher.objects.for_project(other_project).get().redeemed_quantity == 0
    assert not Redemption.objects.for_project(other_project).exists()


def test_a_disabled_code(api, project, code):
    Voucher.objects.for_project(project).filter(code=code).update(active=False)

    body, failed = _attempt(api, code, 400, "voucher_disabled")

    # The error names the FAILED redemption, as Voucherify's does.
    assert (body["resource_type"], body["resource_id"]) == ("redemption", failed["public_id"])
    assert api.get(f"/v1/redemptions/{failed['public_id']}").json()["status"] == "FAILED"


def test_a_code_of_a_disabled_campaign(api, project, code):
    Campaign.objects.for_project(project).update(active=False)

    _attempt(api, code, 400, "voucher_disabled")


def test_an_expired_code(api, project, code):
    Voucher.objects.for_project(project).filter(code=code).update(
        expiration_date=timezone.now() + timedelta(days=1)
    )

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        _attempt(api, code, 400, "voucher_expired")


def test_a_code_of_a_campaign_that_has_not_started(api, project, code):
    Campaign.objects.for_project(project).update(start_date=timezone.now() + timedelta(days=1))

    _attempt(api, code, 400, "voucher_not_active")


def test_a_code_outside_its_campaigns_days_of_the_week(api, project, code):
    today = (timezone.now().weekday() + 1) % 7
    Campaign.objects.for_project(project).update(validity_day_of_week=[(today + 1) % 7])

    _attempt(api, code, 400, "voucher_not_active_now")


def test_an_exhausted_code(api, project, code):
    assert redeem(api, code).status_code == 200

    _attempt(api, code, 400, "quantity_exceeded")

    assert Voucher.objects.for_project(project).get(code=code).redeemed_quantity == 1


def test_an_unknown_customer_id(api, code):
    with only_a_failed_redemption() as outcome:
        response = redeem(api, code, customer={"id": "cust_missing"})

    assert_error(response, 404, "not_found")
    assert outcome["failed"]["failure_code"] == "invalid_customer"


def test_an_unknown_order_id(api, project, code):
    with only_a_failed_redemption() as outcome:
        response = redeem(api, code, order={"id": "ord_missing", "amount": 100})

    assert_error(response, 404, "not_found")
    assert outcome["failed"]["failure_code"] == "invalid_order"
    assert Voucher.objects.for_project(project).get(code=code).redeemed_quantity == 0
