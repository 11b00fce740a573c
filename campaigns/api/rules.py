"""`/v1/validation-rules`: create, read, update, delete and list rule sets (ValidationRulesApi)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import ValidationRule, ValidationRuleAssignment
from campaigns.services import CampaignRefused
from campaigns.validation_rules import CONTEXT_TYPES, RULE_TYPES
from campaigns.validation_rules.representation import assignment_object, validation_rule_object
from campaigns.validation_rules.services import (
    RelatedObjectMissing,
    validation_rule_assign,
    validation_rule_create,
    validation_rule_delete,
    validation_rule_unassign,
    validation_rule_update,
)
from tenancy.api.errors import ApiError, invalid_query_params, not_found
from tenancy.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictIntegerField,
    StrictNumberField,
    StrictSerializer,
    validated,
)
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView
from tenancy.models import Project

APPLICABLE_EFFECTS = [
    "APPLY_TO_EVERY",
    "APPLY_TO_CHEAPEST",
    "APPLY_FROM_CHEAPEST",
    "APPLY_TO_MOST_EXPENSIVE",
    "APPLY_FROM_MOST_EXPENSIVE",
]
ORDERINGS = {
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}


class WithoutNullsMixin:
    """The SDK sends every field of a nested model it built, unset ones as null: null means "not
    given" here, so a null field is dropped before the strict checks."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if value is not None}
        return super().to_internal_value(data)


class ApplicableItemInput(WithoutNullsMixin, StrictSerializer):
    object = StrictChoiceField(choices=["product", "sku", "products_collection"])
    id = StrictCharField(required=False, max_length=255)
    source_id = StrictCharField(required=False, max_length=255)
    product_id = StrictCharField(required=False, max_length=255)
    product_source_id = StrictCharField(required=False, max_length=255)
    effect = StrictChoiceField(choices=APPLICABLE_EFFECTS)
    price = StrictNumberField(required=False, min_value=0)
    price_formula = StrictNumberField(required=False)
    target = StrictChoiceField(choices=["ITEM", "UNIT"], required=False)
    order_item_indices = serializers.ListField(child=StrictIntegerField(min_value=0), required=False)
    order_item_units = serializers.ListField(child=StrictDictField(), required=False)
    repeat = StrictIntegerField(required=False, min_value=0)
    skip_initially = StrictIntegerField(required=False, min_value=0)
    quantity_limit = StrictIntegerField(required=False, min_value=0)
    aggregated_quantity_limit = StrictIntegerField(required=False, min_value=0)
    amount_limit = StrictIntegerField(required=False, min_value=0)
    aggregated_amount_limit = StrictIntegerField(required=False, min_value=0)

    # Voucherify's per-product limits: an integer each, and a formula string beside it.
    for _scope in (
        "product_campaign",
        "product_customer_campaign",
        "product_in_collection_campaign",
        "product_in_collection_customer_campaign",
        "product_promotion_tier",
        "product_customer_promotion_tier",
        "product_in_collection_promotion_tier",
        "product_in_collection_customer_promotion_tier",
    ):
        locals()[f"{_scope}_quantity_limit"] = StrictIntegerField(required=False, min_value=0)
        locals()[f"{_scope}_quantity_limit_formula"] = StrictCharField(required=False, max_length=1000)
    del _scope


class ApplicableToInput(WithoutNullsMixin, StrictSerializer):
    included = ApplicableItemInput(many=True, required=False, max_length=100)
    excluded = ApplicableItemInput(many=True, required=False, max_length=100)
    included_all = StrictBooleanField(required=False)


class RuleErrorInput(WithoutNullsMixin, StrictSerializer):
    message = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=1000)


class ValidationRuleFieldsInput(WithoutNullsMixin, StrictSerializer):
    """The body of create and update; the rules JSON itself is checked by the service."""

    name = StrictCharField(max_length=255)
    rules = StrictDictField(required=False, allow_null=True)
    bundle_rules = StrictDictField(required=False, allow_null=True)
    error = RuleErrorInput(required=False, allow_null=True)
    applicable_to = ApplicableToInput(required=False, allow_null=True)
    type = StrictChoiceField(choices=RULE_TYPES, required=False)
    context_type = StrictChoiceField(choices=CONTEXT_TYPES, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("applicable_to") is not None:
            applicable = attrs["applicable_to"]
            attrs["applicable_to"] = {
                "included": [_compact(item) for item in applicable.get("included", [])],
                "excluded": [_compact(item) for item in applicable.get("excluded", [])],
                "included_all": applicable.get("included_all", False),
            }
        return attrs


class ValidationRuleUpdateInput(ValidationRuleFieldsInput):
    name = StrictCharField(max_length=255, required=False)


def _compact(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value is not None}


def _refused(error: CampaignRefused) -> ApiError:
    if isinstance(error, RelatedObjectMissing):
        return not_found(error.resource_type, error.identifier)
    messages = {
        "invalid_validation_rules": "Invalid validation rules",
        "duplicate_found": "Duplicated resource found",
    }
    return ApiError(
        status_code=error.status_code,
        key=error.key,
        message=messages.get(error.key, error.key.replace("_", " ").capitalize()),
        details=error.details,
    )


def _with_counts(project: Project) -> QuerySet:
    return ValidationRule.objects.for_project(project).annotate(assignments_total=Count("assignments"))


def _access_rule(project: Project, identifier: str) -> ValidationRule:
    rule = _with_counts(project).filter(public_id=identifier).first()
    if rule is None:
        raise not_found("validation_rule", identifier)
    return rule


def _response(rule: ValidationRule) -> dict[str, Any]:
    return validation_rule_object(rule, assignments_count=getattr(rule, "assignments_total", 0))


def _datetime_param(name: str, raw: str) -> datetime:
    # A `+` offset left unencoded in a query string arrives as a space.
    try:
        value = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None:
        raise invalid_query_params(f"Query parameter {name} must be an ISO 8601 datetime.")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class ValidationRuleCollectionApi(ProjectApiView):
    @extend_schema(
        operation_id="create_validation_rules", request=ValidationRuleFieldsInput, responses={200: dict}
    )
    def post(self, request: Request) -> Response:
        fields = validated(ValidationRuleFieldsInput, request.data)
        try:
            rule = validation_rule_create(project=self.project, fields=fields)
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response(validation_rule_object(rule, assignments_count=0))

    @extend_schema(
        operation_id="list_validation_rules",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("order", str, enum=list(ORDERINGS)),
            OpenApiParameter("start_date", str),
            OpenApiParameter("end_date", str),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        rules = _with_counts(self.project)
        order = params.get("order") or "-created_at"
        if order not in ORDERINGS:
            raise invalid_query_params(f"Query parameter order must be one of {', '.join(ORDERINGS)}.")
        if params.get("start_date"):
            rules = rules.filter(created_at__gte=_datetime_param("start_date", params["start_date"]))
        if params.get("end_date"):
            rules = rules.filter(created_at__lte=_datetime_param("end_date", params["end_date"]))
        rows, total, _ = page_of(request, rules.order_by(*ORDERINGS[order]))
        return Response(list_envelope("data", [_response(rule) for rule in rows], total))


class ValidationRuleItemApi(ProjectApiView):
    @extend_schema(operation_id="get_validation_rule", responses=dict)
    def get(self, request: Request, identifier: str) -> Response:
        return Response(_response(_access_rule(self.project, identifier)))

    @extend_schema(operation_id="update_validation_rule", request=ValidationRuleUpdateInput, responses=dict)
    def put(self, request: Request, identifier: str) -> Response:
        rule = _access_rule(self.project, identifier)
        fields = validated(ValidationRuleUpdateInput, request.data)
        try:
            updated = validation_rule_update(project=self.project, rule=rule, fields=fields)
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response(validation_rule_object(updated, assignments_count=rule.assignments_total))

    @extend_schema(operation_id="delete_validation_rules", responses={204: None})
    def delete(self, request: Request, identifier: str) -> Response:
        rule = _access_rule(self.project, identifier)
        validation_rule_delete(project=self.project, rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Assignments -----------------------------------------------------------------------------------------


class AssignmentCreateInput(WithoutNullsMixin, StrictSerializer):
    related_object_type = StrictChoiceField(choices=ValidationRuleAssignment.RelatedObjectType.values)
    related_object_id = StrictCharField(max_length=255)


class ValidationRuleAssignmentCollectionApi(ProjectApiView):
    @extend_schema(
        operation_id="list_validation_rule_assignments",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("order", str, enum=["created_at", "-created_at"]),
        ],
        responses=dict,
    )
    def get(self, request: Request, identifier: str) -> Response:
        rule = _access_rule(self.project, identifier)
        order = request.query_params.get("order") or "-created_at"
        if order not in ("created_at", "-created_at"):
            raise invalid_query_params("Query parameter order must be created_at or -created_at.")
        assignments = (
            ValidationRuleAssignment.objects.for_project(self.project)
            .filter(rule=rule)
            .select_related("rule")
            .order_by(order, "id" if order == "created_at" else "-id")
        )
        rows, total, _ = page_of(request, assignments)
        return Response(list_envelope("data", [assignment_object(a) for a in rows], total))

    @extend_schema(
        operation_id="create_validation_rule_assignment",
        parameters=[OpenApiParameter("force", bool)],
        request=AssignmentCreateInput,
        responses=dict,
    )
    def post(self, request: Request, identifier: str) -> Response:
        rule = _access_rule(self.project, identifier)
        force = request.query_params.get("force")
        if force not in (None, "", "true", "false"):
            raise invalid_query_params("Query parameter force must be true or false.")
        fields = validated(AssignmentCreateInput, request.data)
        try:
            assignment = validation_rule_assign(
                project=self.project, rule=rule, force=force == "true", **fields
            )
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response(assignment_object(assignment))


class ValidationRuleAssignmentItemApi(ProjectApiView):
    @extend_schema(operation_id="delete_validation_rule_assignment", responses={204: None})
    def delete(self, request: Request, identifier: str, assignment_id: str) -> Response:
        rule = _access_rule(self.project, identifier)
        assignment = (
            ValidationRuleAssignment.objects.for_project(self.project)
            .filter(rule=rule, public_id=assignment_id)
            .first()
        )
        if assignment is None:
            raise not_found("validation_rules_assignment", assignment_id)
        validation_rule_unassign(project=self.project, assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)
