"""The webhook channel: Voucherify's envelope (or the raw designed payload), both signatures, posted
through `webhooks_out` to the endpoint the template names.

Every non-2xx answer, timeout or connection error is transient and retried on Voucherify's schedule
(1, 2, 4 … 1024 minutes, then 24 h after the first attempt); after the last retry the message fails,
its stream pauses with the reason and the endpoint is marked failing. A forbidden target (the SSRF
guard), a deleted or deactivated endpoint, or a payload that cannot render fail at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from messaging.channels.base import (
    Batch,
    Channel,
    Outcome,
    PermanentFailure,
    RenderFailed,
    Sent,
    TransientFailure,
)
from messaging.rendering import CompiledPayload, RenderContext, TemplateError, compile_payload
from webhooks_out import transport
from webhooks_out.envelope import encode, envelope
from webhooks_out.guard import Target, TargetRefused, TargetUnresolvable, resolve_target
from webhooks_out.models import WebhookEndpoint
from webhooks_out.services import webhook_endpoints_mark_failing, webhook_endpoints_mark_healthy
from webhooks_out.signing import signature_headers

VOUCHERIFY_SCHEDULE = (*(timedelta(minutes=2**n) for n in range(11)), timedelta(hours=24))
USER_AGENT = "DistributionManager-Webhooks/1.0"
MAX_EVENT_NAME = 100

_compiled: dict[int, CompiledPayload] = {}


def _compiled_payload(template) -> CompiledPayload:
    """Template versions are immutable, so a process compiles each one once."""
    compiled = _compiled.get(template.pk)
    if compiled is None:
        if len(_compiled) > 2000:
            _compiled.clear()
        compiled = _compiled[template.pk] = compile_payload(template.content.get("payload") or {})
    return compiled


@dataclass(frozen=True)
class WebhookRequest:
    endpoint_id: int
    target: Target | None
    target_error: Exception | None
    body: bytes
    headers: dict[str, str]


class WebhookChannel(Channel):
    name = "webhook"
    retry_offsets = VOUCHERIFY_SCHEDULE
    final_failure_pauses_stream = True

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10.0))

    def validate_content(self, *, project, content: dict[str, Any]) -> dict[str, Any]:
        problems: dict[str, list[str]] = {}
        endpoint_id = content.get("endpoint")
        if not isinstance(endpoint_id, str) or not (
            WebhookEndpoint.objects.for_project(project).filter(public_id=endpoint_id).exists()
        ):
            problems["endpoint"] = [f"No webhook endpoint {endpoint_id!r} in this project."]
        event_name = content.get("event_name")
        if not isinstance(event_name, str) or not event_name.strip() or len(event_name) > MAX_EVENT_NAME:
            problems["event_name"] = [f"An event name of 1 to {MAX_EVENT_NAME} characters is required."]
        raw_payload = content.get("raw_payload", False)
        if not isinstance(raw_payload, bool):
            problems["raw_payload"] = ["Must be true or false."]
        payload = content.get("payload", {})
        if not isinstance(payload, dict):
            problems["payload"] = ["The payload design must be an object."]
        else:
            try:
                compile_payload(payload)
            except TemplateError as error:
                problems["payload"] = error.problems
        unknown = set(content) - {"endpoint", "event_name", "raw_payload", "payload"}
        if unknown:
            problems["content"] = [f"Unknown settings: {', '.join(sorted(unknown))}."]
        if problems:
            raise ValidationError(problems)
        return {
            "endpoint": endpoint_id,
            "event_name": event_name.strip(),
            "raw_payload": raw_payload,
            "payload": payload,
        }

    def prepare(self, *, project, messages: Sequence) -> Batch:
        batch = super().prepare(project=project, messages=messages)
        endpoint_ids = {template.content.get("endpoint") for template in batch.templates.values()}
        endpoints = {
            endpoint.public_id: endpoint
            for endpoint in WebhookEndpoint.objects.for_project(project).filter(public_id__in=endpoint_ids)
        }
        batch.extra["endpoints"] = endpoints
        batch.extra["targets"] = {}
        batch.extra["failing_endpoints"] = {e.pk for e in endpoints.values() if e.is_failing}
        batch.extra["failing_endpoints_sent"] = set()
        return batch

    def _target(self, endpoint: WebhookEndpoint, batch: Batch) -> tuple[Target | None, Exception | None]:
        # Resolved once per endpoint and batch: a batch lasts seconds, a DNS answer longer.
        targets = batch.extra["targets"]
        if endpoint.pk not in targets:
            try:
                targets[endpoint.pk] = (
                    resolve_target(endpoint.url, allow_private=batch.project.allow_private_webhook_targets),
                    None,
                )
            except (TargetRefused, TargetUnresolvable) as error:
                targets[endpoint.pk] = (None, error)
        return targets[endpoint.pk]

    def render(self, message, batch: Batch) -> WebhookRequest:
        template = batch.templates[message.template_id]
        endpoint = batch.extra["endpoints"].get(template.content.get("endpoint"))
        if endpoint is None:
            raise RenderFailed("The webhook endpoint was deleted.")
        if not endpoint.is_active:
            raise RenderFailed(f"The webhook endpoint {endpoint.public_id} is not active.")
        variables = {**message.variables, "message.id": message.public_id}
        data = _compiled_payload(template).render(
            RenderContext(customer=message.customer, variables=variables)
        )
        if template.content.get("raw_payload"):
            payload = data
        else:
            stream = message.stream
            payload = envelope(
                send_out_id=message.public_id,
                project_public_id=batch.project.public_id,
                created_at=message.created_at,
                event_name=template.content["event_name"],
                data=data,
                source_id=stream.owner_id or stream.public_id,
                source_object=stream.owner_object or "stream",
                target_url=endpoint.url,
                event={
                    "id": variables.get("event.id"),
                    "type": variables.get("event.type") or template.content["event_name"],
                    "created_at": variables.get("event.created_at"),
                    "entity_id": variables.get("event.entity_id"),
                    "group_id": variables.get("event.group_id"),
                    "channel": variables.get("event.channel"),
                },
            )
        body = encode(payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **endpoint.headers,
            **signature_headers(endpoint.secret, message.public_id, int(time.time()), body),
        }
        target, error = self._target(endpoint, batch)
        return WebhookRequest(endpoint.pk, target, error, body, headers)

    def send(self, rendered: WebhookRequest, batch: Batch) -> Outcome:
        if isinstance(rendered.target_error, TargetRefused):
            return PermanentFailure(str(rendered.target_error))
        if rendered.target is None:
            return TransientFailure(str(rendered.target_error))
        response = transport.post(rendered.target, rendered.body, rendered.headers, timeout=self.timeout)
        if response.is_success:
            if rendered.endpoint_id in batch.extra["failing_endpoints"]:
                batch.extra["failing_endpoints_sent"].add(rendered.endpoint_id)
            return Sent(status_code=response.status)
        if response.status is None:
            return TransientFailure(response.error)
        snippet = response.body[:200].decode("utf-8", errors="replace")
        return TransientFailure(f"HTTP {response.status}: {snippet}".strip(), status_code=response.status)

    def wants_on_sent(self, batch: Batch) -> bool:
        return bool(batch.extra["failing_endpoints_sent"])

    def on_sent(self, *, batch: Batch) -> None:
        """A failing endpoint that answered 2xx is healthy again."""
        recovered = batch.extra["failing_endpoints_sent"]
        webhook_endpoints_mark_healthy(project=batch.project, endpoint_ids=list(recovered))
        batch.extra["failing_endpoints"] -= recovered
        batch.extra["failing_endpoints_sent"] = set()

    def on_final_failures(self, *, batch: Batch, failures: list[tuple[Any, str]]) -> None:
        by_endpoint: dict[int, str] = {}
        for message, error in failures:
            endpoint = batch.extra["endpoints"].get(
                batch.templates[message.template_id].content.get("endpoint")
            )
            if endpoint is not None:
                by_endpoint.setdefault(endpoint.pk, error)
        for endpoint_id, error in by_endpoint.items():
            webhook_endpoints_mark_failing(project=batch.project, endpoint_ids=[endpoint_id], reason=error)
