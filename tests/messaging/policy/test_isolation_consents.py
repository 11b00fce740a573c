"""Another project's customers' consents do not exist for an outsider: 404, and nothing changes."""

from __future__ import annotations

import pytest

from messaging.models import CustomerConsent
from tests.api.support import assert_error
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ISOLATION_ROUTES = [
    ("GET", "/v1/customers/cust_1/consents"),
    ("PUT", "/v1/customers/cust_1/consents"),
]


def test_an_outsider_cannot_read_or_set_our_customers_consents(project, outsider_api):
    customer = CustomerFactory(project=project, source_id="ada")
    for identifier in (customer.public_id, "ada"):
        assert_error(outsider_api.get(f"/v1/customers/{identifier}/consents"), 404, "not_found")
        response = outsider_api.put(
            f"/v1/customers/{identifier}/consents", {"consents": {"email": "unsubscribed"}}, format="json"
        )
        assert_error(response, 404, "not_found")
    assert not CustomerConsent.objects.unscoped().exists()
