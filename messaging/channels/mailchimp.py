"""The Mailchimp channel: upsert the customer as a member of the project's audience (list) with merge
fields carrying their code and chosen details. Nothing is sent to the customer from here: the
marketer's own Mailchimp campaigns use the fields.

PUT {base}/3.0/lists/{list_id}/members/{md5 of the lowercase email}, basic auth with the API key;
the message counts as delivered when Mailchimp accepts it (2xx). No answer, 429 and 5xx are
transient, any other 4xx permanent. Customers without an email address are skipped.

A template names the merge fields: `{"merge_fields": {"CODE": "{{voucher.code}}", "FNAME":
"{{customer.first_name}}"}, "status_if_new": "transactional"}`. A new member is added as
`transactional` unless the template says otherwise, so pushing a code subscribes no one to marketing.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError

from messaging.channels.base import Batch
from messaging.channels.provider import ProviderChannel, ProviderRequest, json_field
from messaging.providers import basic_auth, json_body
from messaging.rendering import CompiledPayload, RenderContext, TemplateError, compile_payload

MERGE_FIELD_NAME = re.compile(r"[A-Z0-9_]{1,10}")  # Mailchimp's merge tags: up to 10 characters
MAX_MERGE_FIELDS = 30
STATUSES_IF_NEW = ("transactional", "subscribed", "pending")

_compiled: dict[int, CompiledPayload] = {}


def _compiled_fields(template) -> CompiledPayload:
    compiled = _compiled.get(template.pk)
    if compiled is None:
        if len(_compiled) > 2000:
            _compiled.clear()
        compiled = _compiled[template.pk] = compile_payload(template.content["merge_fields"])
    return compiled


def member_hash(email: str) -> str:
    """Mailchimp's subscriber hash: the MD5 of the lowercase address."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def validate_string_fields(
    fields: Any, *, key: str, name_pattern: re.Pattern, limit: int, label: str
) -> dict[str, list[str]]:
    """Problems of a flat name → text-template mapping (variables checked by the one renderer)."""
    if not isinstance(fields, dict) or not fields:
        return {key: [f"At least one {label} is required, as an object of name → text."]}
    problems: list[str] = []
    if len(fields) > limit:
        problems.append(f"At most {limit} {label}s.")
    for name, value in fields.items():
        if not name_pattern.fullmatch(name):
            problems.append(f"{name!r} is not a valid {label} name ({name_pattern.pattern}).")
        if not isinstance(value, str):
            problems.append(f"The {label} {name!r} must be text.")
    if not problems:
        try:
            compile_payload(fields)
        except TemplateError as error:
            problems.extend(error.problems)
    return {key: problems} if problems else {}


class MailchimpChannel(ProviderChannel):
    name = "mailchimp"
    provider_kind = "mailchimp"
    provider_label = "Mailchimp"

    def validate_content(self, *, project, content: dict[str, Any]) -> dict[str, Any]:
        problems = validate_string_fields(
            content.get("merge_fields"),
            key="merge_fields",
            name_pattern=MERGE_FIELD_NAME,
            limit=MAX_MERGE_FIELDS,
            label="merge field",
        )
        status = content.get("status_if_new", "transactional")
        if status not in STATUSES_IF_NEW:
            problems["status_if_new"] = [f"One of: {', '.join(STATUSES_IF_NEW)}."]
        unknown = set(content) - {"merge_fields", "status_if_new"}
        if unknown:
            problems["content"] = [f"Unknown settings: {', '.join(sorted(unknown))}."]
        if problems:
            raise ValidationError(problems)
        return {"merge_fields": content["merge_fields"], "status_if_new": status}

    def address_missing(self, message) -> str | None:
        if not (message.customer.email or "").strip():
            return "The customer has no email address."
        return None

    def render(self, message, batch: Batch) -> ProviderRequest:
        members_path, static_headers = self._batch_request(batch)
        template = batch.templates[message.template_id]
        public_id = message.public_id
        customer = message.customer
        variables = {**message.variables, "message.id": public_id}
        merge_fields = _compiled_fields(template).render(
            RenderContext(customer=customer, variables=variables)
        )
        email = customer.email.strip()
        return ProviderRequest(
            customer_id=message.customer_id,
            method="PUT",
            path=members_path + member_hash(email),
            body=json_body(
                {
                    "email_address": email,
                    "status_if_new": template.content.get("status_if_new", "transactional"),
                    "merge_fields": {name: "" if v is None else str(v) for name, v in merge_fields.items()},
                }
            ),
            headers={**static_headers, "Idempotency-Key": public_id},
        )

    def _batch_request(self, batch: Batch) -> tuple[str, dict[str, str]]:
        """What every request of the batch shares: the audience's members path, and the auth and
        content type headers."""
        shared = batch.extra.get("mailchimp_request")
        if shared is None:
            credentials = self.credentials(batch)
            shared = batch.extra["mailchimp_request"] = (
                f"/3.0/lists/{quote(credentials['list_id'], safe='')}/members/",
                {
                    "Authorization": basic_auth("anystring", credentials["api_key"]),
                    "Content-Type": "application/json",
                },
            )
        return shared

    def provider_id(self, response) -> str:
        return str(json_field(response.body, "id") or "")
