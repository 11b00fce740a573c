"""The SMS channel: a Twilio-compatible HTTP API (POST {base}/2010-04-01/Accounts/{sid}/Messages.json,
form body To/From/Body, basic auth with the account sid and token), configured per project.

The message's public id goes along as the idempotency key. No answer, 429 and 5xx are transient;
any other 4xx is permanent, and Twilio's 21610 (the recipient replied STOP) also suppresses the
customer's SMS channel, so later SMS to them are skipped with the reason. Customers without a phone
number are skipped.

Templates are text with variables (the one renderer); saving one reports its length and segments
and refuses more than ten segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from messaging.channels.base import Batch, Outcome, PermanentFailure
from messaging.channels.provider import ProviderChannel, ProviderRequest, json_field
from messaging.models import ChannelSuppression
from messaging.providers import basic_auth
from messaging.rendering import CompiledText, RenderContext, TemplateError, compile_text
from messaging.sms import LINT_SEGMENTS, MAX_SEGMENTS, SmsLength, sms_length

OPTED_OUT_CODE = 21610  # Twilio: "Attempt to send to unsubscribed recipient"
MAX_BODY = 1600  # Twilio's own limit on a message body
# A variable's value is unknown at save time: it counts as its fallback, or as this sample.
SAMPLE_VALUE = "X" * 12

_compiled: dict[int, CompiledText] = {}

# `urllib.parse.quote_plus` as a table of each UTF-8 byte's encoding: the same text, in a fraction of
# the time (it walks the bytes in Python).
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_FORM_BYTES = tuple(
    chr(byte) if byte in _UNRESERVED else "+" if byte == 0x20 else f"%{byte:02X}" for byte in range(256)
)


def form_encoded(text: str) -> str:
    """`quote_plus(text)`: a value of an `application/x-www-form-urlencoded` body."""
    return "".join(map(_FORM_BYTES.__getitem__, text.encode()))


def _compiled_body(template) -> CompiledText:
    compiled = _compiled.get(template.pk)
    if compiled is None:
        if len(_compiled) > 2000:
            _compiled.clear()
        compiled = _compiled[template.pk] = compile_text(template.content["body"])
    return compiled


@dataclass(frozen=True)
class SmsTemplateReport:
    length: SmsLength  # of the text with each variable at its fallback or a 12-character sample
    warnings: list[str]


def sms_template_check(body: str) -> SmsTemplateReport:
    """Length, segments and lint warnings of an SMS template; `TemplateError` for unknown variables."""
    compiled = compile_text(body)
    sample = "".join(
        part if isinstance(part, str) else (part.fallback if part.fallback else SAMPLE_VALUE)
        for part in compiled.parts
    )
    length = sms_length(sample)
    warnings = []
    if length.segments > LINT_SEGMENTS:
        warnings.append(
            f"The SMS is {length.segments} segments ({length.encoding}); more than {LINT_SEGMENTS} "
            "costs more and may arrive out of order."
        )
    unfallen = [part.name for part in compiled.parts if not isinstance(part, str) and part.fallback is None]
    if unfallen:
        warnings.append(f"Variables without a fallback: {', '.join(dict.fromkeys(unfallen))}.")
    return SmsTemplateReport(length, warnings)


class SmsChannel(ProviderChannel):
    name = "sms"
    provider_kind = "sms"
    provider_label = "SMS"

    @property
    def task_name(self) -> str:
        return "messaging.tasks.deliver_sms"

    def validate_content(self, *, project, content: dict[str, Any]) -> dict[str, Any]:
        body = content.get("body")
        # The report keys are ours (written at save): a design read back and saved again may carry them.
        unknown = set(content) - {"body", "length", "warnings"}
        problems: dict[str, list[str]] = {}
        if unknown:
            problems["content"] = [f"Unknown settings: {', '.join(sorted(unknown))}."]
        if not isinstance(body, str) or not body.strip():
            problems["body"] = ["The SMS text is required."]
        elif len(body) > MAX_BODY:
            problems["body"] = [f"The SMS text is longer than {MAX_BODY} characters."]
        else:
            try:
                report = sms_template_check(body)
            except TemplateError as error:
                problems["body"] = error.problems
            else:
                if report.length.segments > MAX_SEGMENTS:
                    problems["body"] = [
                        f"The SMS would be {report.length.segments} segments ({report.length.encoding}); "
                        f"at most {MAX_SEGMENTS} are allowed."
                    ]
        if problems:
            raise ValidationError(problems)
        return {"body": body, "length": report.length.as_dict(), "warnings": report.warnings}

    def address_missing(self, message) -> str | None:
        if not (message.customer.phone or "").strip():
            return "The customer has no phone number."
        return None

    def render(self, message, batch: Batch) -> ProviderRequest:
        path, from_and_body_key, static_headers = self._batch_request(batch)
        template = batch.templates[message.template_id]
        public_id = message.public_id
        customer = message.customer
        variables = {**message.variables, "message.id": public_id}
        text = _compiled_body(template).render(RenderContext(customer=customer, variables=variables))
        # `form_body({"To": …, "From": …, "Body": …})`, with the batch's part encoded once.
        body = "To=" + form_encoded(customer.phone.strip()) + from_and_body_key + form_encoded(text)
        return ProviderRequest(
            customer_id=message.customer_id,
            method="POST",
            path=path,
            body=body.encode(),
            headers={**static_headers, "Idempotency-Key": public_id, "I-Twilio-Idempotency-Token": public_id},
        )

    def _batch_request(self, batch: Batch) -> tuple[str, str, dict[str, str]]:
        """What every request of the batch shares: the path, the encoded sender up to the text, and
        the auth and content type headers."""
        shared = batch.extra.get("sms_request")
        if shared is None:
            credentials = self.credentials(batch)
            sid = credentials["account_sid"]
            shared = batch.extra["sms_request"] = (
                f"/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json",
                "&From=" + form_encoded(credentials["sender"]) + "&Body=",
                {
                    "Authorization": basic_auth(sid, credentials["auth_token"]),
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
        return shared

    def provider_id(self, response) -> str:
        return str(json_field(response.body, "sid") or "")

    def send(self, rendered: ProviderRequest, batch: Batch) -> Outcome:
        response = self.call(rendered, batch)
        if not hasattr(response, "is_success"):
            return response
        outcome = self.classify(response, self.provider_id(response))
        if isinstance(outcome, PermanentFailure) and json_field(response.body, "code") == OPTED_OUT_CODE:
            batch.extra["opted_out"][rendered.customer_id] = outcome.error
            batch.extra["suppressed"][rendered.customer_id] = ChannelSuppression.Reason.OPTED_OUT
            return PermanentFailure(
                f"The number opted out of SMS (provider code {OPTED_OUT_CODE}); the customer's SMS "
                f"channel is suppressed. {outcome.error}",
                status_code=outcome.status_code,
            )
        return outcome

    def on_final_failures(self, *, batch: Batch, failures) -> None:
        opted_out = batch.extra["opted_out"]
        if not opted_out:
            return
        for customer_id, detail in opted_out.items():
            try:
                with transaction.atomic():
                    ChannelSuppression.objects.get_or_create(
                        project=batch.project,
                        customer_id=customer_id,
                        channel=self.name,
                        defaults={"reason": ChannelSuppression.Reason.OPTED_OUT, "detail": detail[:2000]},
                    )
            except IntegrityError:  # recorded meanwhile by another batch
                pass
        opted_out.clear()
