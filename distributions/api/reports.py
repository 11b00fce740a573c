"""`/v1/distributions/{id}/analytics`, `/activity` and `/messages`: what a distribution did."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from distributions.analytics import MESSAGE, ActivityEntry, Cursor, activity_timeline, distribution_analytics
from distributions.api.serializers import activity_object
from distributions.api.views import _access_distribution, _datetime_param
from distributions.models import ActivityKind
from distributions.services import stream_of
from messaging.models import Message, MessageAttempt
from tenancy.api.errors import invalid_query_params
from tenancy.api.paging import MAX_LIMIT, int_param, list_envelope, page_of
from tenancy.api.views import ProjectApiView

INTERVALS = ("hour", "day")
MAX_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=731)}
MESSAGE_KIND = "message"


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _range(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    return _datetime_param(name, raw) if raw else None


class DistributionAnalyticsApi(ProjectApiView):
    @extend_schema(
        operation_id="get_distribution_analytics",
        parameters=[
            OpenApiParameter("start_date", str, description="ISO 8601; default: the distribution's creation"),
            OpenApiParameter("end_date", str, description="ISO 8601, exclusive; default: now"),
            OpenApiParameter("interval", str, enum=list(INTERVALS)),
        ],
        responses=dict,
    )
    def get(self, request: Request, public_id: str) -> Response:
        distribution = _access_distribution(self.project, public_id)
        interval = request.query_params.get("interval") or "hour"
        if interval not in INTERVALS:
            raise invalid_query_params("Query parameter interval must be one of hour, day.")
        until = _range(request, "end_date") or timezone.now() + timedelta(seconds=1)
        since = _range(request, "start_date") or distribution.created_at
        if since >= until:
            raise invalid_query_params("Query parameter start_date must be before end_date.")
        if until - since > MAX_RANGE[interval]:
            raise invalid_query_params(
                f"A range of {interval}s may span at most {MAX_RANGE[interval].days} days; "
                "use interval=day or a shorter range."
            )
        report = distribution_analytics(
            project=self.project, distribution=distribution, since=since, until=until, interval=interval
        )
        for entry in report["series"]:
            entry["bucket"] = _time(entry["bucket"])
        return Response(
            {
                "object": "distribution_analytics",
                "id": distribution.public_id,
                "start_date": _time(since),
                "end_date": _time(until),
                "interval": interval,
                **report,
            }
        )


def encode_cursor(cursor: Cursor) -> str:
    raw = f"{cursor.moment.isoformat()}|{cursor.source}|{cursor.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(raw_cursor: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(raw_cursor + "=" * (-len(raw_cursor) % 4)).decode()
        moment, source, pk = raw.split("|")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None or source not in ("0", "1"):
            raise ValueError(raw)
        return Cursor(parsed.astimezone(UTC), int(source), int(pk))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_query_params("Query parameter starting_after is not a cursor this API gave.") from None


def attempt_object(attempt: MessageAttempt) -> dict[str, Any]:
    message = attempt.message
    customer = message.customer
    if attempt.outcome == MessageAttempt.Outcome.SENT:
        outcome = "recovered" if attempt.number > 1 else "sent"
    else:
        outcome = "failed" if attempt.is_final else "retrying"
    return {
        "object": "distribution_activity",
        "kind": MESSAGE_KIND,
        "actor": "System",
        "message": f"{attempt.channel} message to {customer.email or customer.public_id}: {outcome}"
        + (f" ({attempt.error})" if attempt.error else ""),
        "data": {
            "message_id": message.public_id,
            "channel": attempt.channel,
            "customer_id": customer.public_id,
            "attempt": attempt.number,
            "outcome": outcome,
            "status_code": attempt.status_code,
            "error": attempt.error or None,
        },
        "created_at": _time(attempt.attempted_at),
    }


def _entry_object(entry: ActivityEntry) -> dict[str, Any]:
    return attempt_object(entry.attempt) if entry.source == MESSAGE else activity_object(entry.line)


class DistributionActivityApi(ProjectApiView):
    @extend_schema(
        operation_id="list_distribution_activity",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("starting_after", str, description="The `next_cursor` of the previous page"),
            OpenApiParameter("kind", str, enum=[*ActivityKind.values, MESSAGE_KIND]),
            OpenApiParameter("created_at[before]", str),
            OpenApiParameter("created_at[after]", str),
        ],
        responses=dict,
    )
    def get(self, request: Request, public_id: str) -> Response:
        """Lifecycle lines and per-message outcomes, newest first, keyset-paged: each page is one
        index range scan per source, however deep."""
        distribution = _access_distribution(self.project, public_id)
        limit = int_param(request, "limit", default=20, minimum=1, maximum=MAX_LIMIT)
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in (*ActivityKind.values, MESSAGE_KIND):
            raise invalid_query_params(
                f"Query parameter kind must be one of {', '.join([*ActivityKind.values, MESSAGE_KIND])}."
            )
        cursor = request.query_params.get("starting_after")
        entries, has_more = activity_timeline(
            project=self.project,
            distribution=distribution,
            kind=kind,
            since=_range(request, "created_at[after]"),
            until=_range(request, "created_at[before]"),
            after=decode_cursor(cursor) if cursor else None,
            limit=limit,
        )
        return Response(
            {
                "object": "list",
                "data_ref": "activities",
                "activities": [_entry_object(entry) for entry in entries],
                "has_more": has_more,
                "next_cursor": encode_cursor(entries[-1].cursor) if has_more else None,
            }
        )


def message_object(message: Message) -> dict[str, Any]:
    return {
        "id": message.public_id,
        "object": "distribution_message",
        "channel": message.channel,
        "customer_id": message.customer.public_id,
        "cause_key": message.cause_key,
        "state": message.state,
        "attempts": message.attempts,
        "recovered": message.recovered,
        "last_error": message.last_error or None,
        "variables": message.variables,
        "created_at": _time(message.created_at),
        "first_attempt_at": _time(message.first_attempt_at),
        "next_attempt_at": _time(message.next_attempt_at),
        "sent_at": _time(message.sent_at),
    }


class DistributionMessagesApi(ProjectApiView):
    @extend_schema(
        operation_id="list_distribution_messages",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("state", str, enum=Message.State.values),
            OpenApiParameter("channel", str),
        ],
        responses=dict,
    )
    def get(self, request: Request, public_id: str) -> Response:
        distribution = _access_distribution(self.project, public_id)
        state = request.query_params.get("state")
        if state and state not in Message.State.values:
            raise invalid_query_params(
                f"Query parameter state must be one of {', '.join(Message.State.values)}."
            )
        stream = stream_of(self.project, distribution)
        messages = Message.objects.for_project(self.project).filter(stream=stream).select_related("customer")
        if stream is None:
            messages = messages.none()
        if state:
            messages = messages.filter(state=state)
        if request.query_params.get("channel"):
            messages = messages.filter(channel=request.query_params["channel"])
        rows, total, has_more = page_of(request, messages.order_by("-created_at", "-pk"))
        return Response(
            list_envelope("messages", [message_object(m) for m in rows], total, has_more=has_more)
        )
