"""`POST /v1/message-templates/preview` (ours): an email template rendered for one customer (or a
sample one), without saving anything. The distribution endpoints build on the same service."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from customers.selectors import customer_get
from messaging.email.compiler import EmailContentError, build_email_content
from messaging.email.lint import template_lint
from messaging.email.services import message_template_preview
from messaging.models import MessageTemplate
from tenancy.api.errors import invalid_payload, not_found
from tenancy.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictSerializer,
)
from tenancy.api.views import ProjectApiView


class PreviewInput(StrictSerializer):
    channel = StrictChoiceField(choices=["email"])
    content = StrictDictField(required=False)
    template = StrictCharField(required=False, max_length=40)
    customer = StrictCharField(required=False, max_length=255)
    variables = StrictDictField(required=False)
    carries_code = StrictBooleanField(required=False)

    def validate(self, data):
        if ("content" in data) == ("template" in data):
            raise invalid_payload("Give either content (unsaved) or template (a saved version's id).")
        return data


def _problems(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return " ".join(error.messages)


class MessageTemplatePreviewApi(ProjectApiView):
    @extend_schema(operation_id="preview_message_template", request=PreviewInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        serializer = PreviewInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = None
        if "customer" in data:
            customer = customer_get(project=self.project, identifier=data["customer"])
            if customer is None:
                raise not_found("customer", data["customer"])
        if "template" in data:
            template = (
                MessageTemplate.objects.for_project(self.project)
                .filter(public_id=data["template"], channel=data["channel"])
                .first()
            )
            if template is None:
                raise not_found("message_template", data["template"])
        else:
            try:
                built = build_email_content(project=self.project, content=data["content"])
            except EmailContentError as error:
                raise invalid_payload(_problems(ValidationError(error.problems))) from None
            # Unsaved: a version object that is never stored, so preview and lint read one form.
            template = MessageTemplate(project=self.project, channel=data["channel"], content=built)
        variables = {
            str(k): v for k, v in (data.get("variables") or {}).items() if isinstance(v, str | int | float)
        }
        try:
            rendered = message_template_preview(
                project=self.project, template=template, customer=customer, variables=variables
            )
        except ValidationError as error:
            raise invalid_payload(_problems(error)) from None
        lint = template_lint(
            channel=data["channel"], content=template.content, carries_code=data.get("carries_code", False)
        )
        return Response(
            {
                "object": "message_template_preview",
                "channel": data["channel"],
                "customer_id": customer.public_id if customer is not None else None,
                "subject": rendered.subject,
                "preheader": rendered.preheader,
                "html": rendered.html,
                "text": rendered.text,
                "lint": [{"level": f.level, "code": f.code, "message": f.message} for f in lint],
            }
        )
