"""The demo distributions: one live, one sent with its history; a second run adds nothing."""

from __future__ import annotations

import pytest

from campaigns.models import Publication
from distributions.demo import LIVE_NAME, SENT_NAME, seed_distributions
from distributions.models import Distribution, DistributionActivity
from messaging.models import Message
from tests.campaigns.factories import make_campaign
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_seed_distributions_makes_a_live_and_a_sent_one_once(project):
    CustomerFactory(project=project, source_id="demo-customer-00001")
    welcome = make_campaign(project, name="Welcome 10% off", codes_count=5)

    seed_distributions(project)
    seed_distributions(project)

    distributions = {d.name: d for d in Distribution.objects.for_project(project)}
    assert set(distributions) == {LIVE_NAME, SENT_NAME}
    live, sent = distributions[LIVE_NAME], distributions[SENT_NAME]
    assert (live.status, live.action_params) == ("live", {"campaign": welcome.public_id})
    assert live.trigger_params["validation_rule"].startswith("val_")
    assert [c.kind for c in live.channels.order_by("pk")] == ["webhook", "email"]
    assert sent.status == "sent"
    assert sent.send_at <= sent.sending_started_at <= sent.sent_at
    assert list(
        DistributionActivity.objects.for_project(project)
        .filter(distribution=sent)
        .order_by("pk")
        .values_list("kind", flat=True)
    ) == ["created", "scheduled", "sending", "materialised", "sent"]
    assert Publication.objects.for_project(project).filter(distribution_id=sent.pk).count() == 1
    assert Message.objects.for_project(project).filter(stream__public_id=sent.stream_public_id).count() == 1
