"""Fixtures shared by the distribution tests: the messaging ones (a receiver, a project allowed to call
it, an endpoint) and a distribution that delivered a code which was then redeemed."""

import pytest

from distributions import sending, services
from messaging.delivery import messages_deliver
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import redeem
from tests.distributions.engine_support import create_and_send, make_due, manual_segmentless, messages_of
from tests.factories import CustomerFactory
from tests.support.messaging import endpoint, local_project, receiver  # noqa: F401


@pytest.fixture
def delivered(api, local_project, endpoint, receiver):  # noqa: F811 (the fixtures imported above)
    """A manual distribution that published Ada's code and delivered it, the code redeemed once."""
    ada = CustomerFactory(project=local_project, source_id="ada", email="ada@example.com")
    campaign = make_campaign(local_project, codes_count=3)
    distribution = create_and_send(local_project, manual_segmentless(ada, campaign, endpoint))
    make_due(local_project, distribution)
    services.distributions_claim_due()
    sending.distribution_materialise(project=local_project, distribution=distribution)
    message = messages_of(local_project, distribution).get()
    messages_deliver(project=local_project, channel="webhook", message_ids=[message.pk])
    distribution.refresh_from_db()
    sending.distribution_check_sent(project=local_project, distribution=distribution)
    code = message.variables["voucher.code"]
    assert redeem(api, code, customer={"source_id": "ada"}).status_code == 200
    assert redeem(api, code, customer={"source_id": "ada"}).status_code == 200  # twice: still one code
    return {"distribution": distribution, "campaign": campaign, "message": message}
