"""The Braze channel: record the customer's code (and chosen details) as custom attributes of their
Braze user profile. Nothing is sent to the customer from here: the marketer's Braze canvases use it.

POST {base}/users/track with a bearer REST API key and `{"attributes": [{"external_id": …, …}]}`:
the external id is the customer's source_id, or our id when they have none. Delivered when Braze
accepts it (2xx); no answer, 429 and 5xx transient; any other 4xx permanent.

A template names the attributes: `{"attributes": {"voucher_code": "{{voucher.code}}"}}`.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from messaging.channels.base import Batch
from messaging.channels.mailchimp import validate_string_fields
from messaging.channels.provider import ProviderChannel, ProviderRequest
from messaging.providers import json_body
from messaging.rendering import CompiledPayload, RenderContext, compile_payload

ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")
# Braze's own profile fields: a custom attribute may not replace the user's identity.
RESERVED_ATTRIBUTES = frozenset({"external_id", "user_alias", "braze_id", "_update_existing_only"})
MAX_ATTRIBUTES = 50

_compiled: dict[int, CompiledPayload] = {}


def _compiled_attributes(template) -> CompiledPayload:
    compiled = _compiled.get(template.pk)
    if compiled is None:
        if len(_compiled) > 2000:
            _compiled.clear()
        compiled = _compiled[template.pk] = compile_payload(template.content["attributes"])
    return compiled


class BrazeChannel(ProviderChannel):
    name = "braze"
    provider_kind = "braze"
    provider_label = "Braze"

    def validate_content(self, *, project, content: dict[str, Any]) -> dict[str, Any]:
        attributes = content.get("attributes")
        problems = validate_string_fields(
            attributes, key="attributes", name_pattern=ATTRIBUTE_NAME, limit=MAX_ATTRIBUTES, label="attribute"
        )
        if isinstance(attributes, dict) and RESERVED_ATTRIBUTES & set(attributes):
            problems.setdefault("attributes", []).append(
                f"Reserved attribute names: {', '.join(sorted(RESERVED_ATTRIBUTES & set(attributes)))}."
            )
        unknown = set(content) - {"attributes"}
        if unknown:
            problems["content"] = [f"Unknown settings: {', '.join(sorted(unknown))}."]
        if problems:
            raise ValidationError(problems)
        return {"attributes": attributes}

    def render(self, message, batch: Batch) -> ProviderRequest:
        static_headers = batch.extra.get("braze_headers")
        if static_headers is None:
            static_headers = batch.extra["braze_headers"] = {
                "Authorization": f"Bearer {self.credentials(batch)['api_key']}",
                "Content-Type": "application/json",
            }
        template = batch.templates[message.template_id]
        public_id = message.public_id
        customer = message.customer
        variables = {**message.variables, "message.id": public_id}
        attributes = _compiled_attributes(template).render(
            RenderContext(customer=customer, variables=variables)
        )
        return ProviderRequest(
            customer_id=message.customer_id,
            method="POST",
            path="/users/track",
            body=json_body(
                {"attributes": [{"external_id": customer.source_id or customer.public_id, **attributes}]}
            ),
            headers={**static_headers, "Idempotency-Key": public_id},
        )
