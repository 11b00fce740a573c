"""Voucherify's webhook envelope (v2024-01-01) and its exact serialisation.

```
{"id": <message public id>, "project_id": "proj_…", "created_at": "…Z", "type": <event name>,
 "data": <the designed payload>, "source": {"id", "object", "target_url"}, "event": {…}}
```
With the "raw payload" option the designed payload is the whole body instead. The body is the
compact JSON that Node's `JSON.stringify` would write (no spaces, non-ASCII kept), the exact bytes
both signatures cover.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

EVENT_KEYS = ("id", "type", "created_at", "entity_id", "group_id")


def iso_millis(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def envelope(
    *,
    send_out_id: str,
    project_public_id: str,
    created_at: datetime,
    event_name: str,
    data: Any,
    source_id: str,
    source_object: str,
    target_url: str,
    event: Mapping[str, Any],
) -> dict[str, Any]:
    event_part = {key: event[key] for key in EVENT_KEYS if event.get(key) is not None}
    event_part["event_source"] = {"channel": event.get("channel") or "INTERNAL"}
    return {
        "id": send_out_id,
        "project_id": project_public_id,
        "created_at": iso_millis(created_at),
        "type": event_name,
        "data": data,
        "source": {"id": source_id, "object": source_object, "target_url": target_url},
        "event": event_part,
    }


def encode(payload: Any) -> bytes:
    """The exact bytes to send and sign: a plain string as it is, anything else as compact JSON."""
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()
