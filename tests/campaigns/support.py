"""What campaign tests check beyond tests/api/support.py: that no code, publication or event moved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from campaigns.models import Campaign, CodeGenerationJob, Publication, Voucher
from tests.api.support import database_state


def campaigns_state() -> dict[str, list[Any]]:
    return {
        **database_state(),
        "campaigns": list(Campaign.objects.unscoped().order_by("pk").values()),
        "vouchers": list(Voucher.objects.unscoped().order_by("pk").values()),
        "publications": list(Publication.objects.unscoped().order_by("pk").values()),
        "jobs": list(CodeGenerationJob.objects.unscoped().order_by("pk").values()),
    }


@contextmanager
def nothing_changes() -> Iterator[None]:
    """Then: no campaign, code, publication, customer or event was created, updated or deleted."""
    before = campaigns_state()
    yield
    assert campaigns_state() == before
