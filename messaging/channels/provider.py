"""What the HTTP provider channels (SMS, Mailchimp, Braze) share: the project's provider account
loaded once per batch, its base URL guarded once per batch, per-channel suppressions, and the
classification of answers (2xx sent; no answer, 429 and 5xx transient; any other 4xx permanent).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.db import connection

from messaging.channels.base import (
    Batch,
    Channel,
    Outcome,
    PermanentFailure,
    RenderFailed,
    Sent,
    TransientFailure,
)
from messaging.models import ChannelProvider, ChannelSuppression
from messaging.providers import (
    connection_pool,
    describe_answer,
    http_call,
    is_transient_status,
    provider_credentials,
    resolve_base,
)
from messaging.rows import instances_where, int_array
from webhooks_out.guard import Target, TargetRefused, TargetUnresolvable


class ProviderRequest(NamedTuple):
    """One provider call (a named tuple: built once per message, and cheaper to build than a frozen
    dataclass)."""

    customer_id: int
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


class ProviderChannel(Channel):
    provider_kind: str = ""
    provider_label: str = ""

    @property
    def task_name(self) -> str:
        return "messaging.tasks.deliver_integration"

    def prepare(self, *, project, messages: Sequence) -> Batch:
        batch = super().prepare(project=project, messages=messages)
        # Written out rather than through the ORM, whose query building cost more than these small
        # reads (messaging/rows.py); once per batch.
        providers = instances_where(
            ChannelProvider,
            "row.project_id = %(project)s AND row.kind = %(kind)s AND row.is_active ORDER BY row.id LIMIT 1",
            {"project": project.pk, "kind": self.provider_kind},
        )
        provider = providers[0] if providers else None
        batch.extra["provider"] = provider
        batch.extra["credentials"] = provider_credentials(provider) if provider is not None else {}
        # One query for the batch's customers, not one per message.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT customer_id, reason FROM {ChannelSuppression._meta.db_table}"  # noqa: S608
                " WHERE project_id = %(project)s AND channel = %(channel)s"
                " AND customer_id = ANY(%(customers)s::bigint[])",
                {
                    "project": project.pk,
                    "channel": self.name,
                    "customers": int_array({message.customer_id for message in messages}),
                },
            )
            batch.extra["suppressed"] = dict(cursor.fetchall())
        batch.extra["opted_out"] = {}
        return batch

    def skip_reason(self, message, batch: Batch) -> str | None:
        reason = batch.extra["suppressed"].get(message.customer_id)
        if reason is not None:
            return f"The customer's {self.name} channel is suppressed ({reason})."
        return self.address_missing(message)

    def address_missing(self, message) -> str | None:
        return None

    def credentials(self, batch: Batch) -> dict[str, str]:
        if batch.extra["provider"] is None:
            raise RenderFailed(f"The project has no active {self.provider_label} provider.")
        return batch.extra["credentials"]

    def call(self, request: ProviderRequest, batch: Batch):
        """The provider's answer, or an outcome when the base URL cannot be reached at all."""
        # The base URL is checked and resolved, and its connection pool looked up, once per batch;
        # each request only changes the path.
        base = batch.extra.get("base_target")
        if base is None:
            try:
                base = resolve_base(batch.extra["provider"].base_url, "", project=batch.project)
            except (TargetRefused, TargetUnresolvable) as error:
                base = error
            else:
                batch.extra["base_path"] = base.path.rstrip("/")
                batch.extra["pool"] = connection_pool(base)
            batch.extra["base_target"] = base
        if isinstance(base, TargetRefused):
            return PermanentFailure(str(base))
        if isinstance(base, TargetUnresolvable):
            return TransientFailure(str(base))
        target = Target(
            base.scheme, base.host, base.port, batch.extra["base_path"] + request.path, base.address
        )
        return http_call(
            request.method,
            target,
            body=request.body,
            headers=request.headers,
            timeout=self.timeout,
            pool=batch.extra["pool"],
        )

    def classify(self, response, provider_id: str = "") -> Outcome:
        if response.is_success:
            return Sent(provider_id=provider_id, status_code=response.status)
        error = describe_answer(response)
        if is_transient_status(response.status):
            return TransientFailure(error, status_code=response.status)
        return PermanentFailure(error, status_code=response.status)

    def send(self, rendered: ProviderRequest, batch: Batch) -> Outcome:
        response = self.call(rendered, batch)
        if not hasattr(response, "is_success"):
            return response
        return self.classify(response, self.provider_id(response))

    def provider_id(self, response) -> str:
        return ""


def json_field(body: bytes, name: str) -> Any:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get(name) if isinstance(data, dict) else None
