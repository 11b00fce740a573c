"""The wizard's helpers beside the steps: trigger search as you type, searchable pickers, and
creating a segment, a validation rule or a customer without leaving the step."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from campaigns.services import CampaignRefused
from campaigns.validation_rules.services import validation_rule_create
from customers.services import customer_upsert
from distributions import catalogue
from distributions.catalogue import ParameterKind
from distributions.wizard import contexts, pickers
from distributions.wizard.contexts import PAGE
from distributions.wizard.forms import NewCustomerForm, ValidationRuleForm
from distributions.wizard.views import wizard_view
from segments.filters import FilterError
from segments.forms import SegmentForm
from segments.services import segment_create


@wizard_view
@require_GET
def trigger_search(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category not in catalogue.Category.__members__.values():
        category = ""
    found = catalogue.search_triggers(category=category or None, text=request.GET.get("q", "")[:100])
    context = {
        "triggers": found,
        "selected_trigger": request.GET.get("trigger", ""),
        "post_url": request.GET.get("post_url", ""),
    }
    return render(request, f"{PAGE}#trigger_list", context)


PICKER_KINDS = {str(kind) for kind in ParameterKind}


@wizard_view
@require_GET
def picker_options(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in PICKER_KINDS:
        raise Http404("No such picker.")
    types = tuple(t for t in request.GET.get("types", "").split(",") if t)
    field_name = request.GET.get("field", "")
    selected = request.GET.get(field_name, "") if field_name else ""
    found = pickers.options(
        request.project, kind, q=request.GET.get("q", ""), selected=selected, campaign_types=types
    )
    return render(
        request,
        f"{PAGE}#picker_options",
        {"options": found, "selected": selected, "required": request.GET.get("required") == "1"},
    )


def _picker_response(
    request: HttpRequest, picker: pickers.Picker, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"picker": picker, **extra}
    if picker.kind == ParameterKind.SEGMENT:
        context["chosen_segment"] = contexts.segment_of(request, picker.selected)
    return render(request, f"{PAGE}#picker", context, status=status)


@wizard_view
@require_POST
def segment_new(request: HttpRequest) -> HttpResponse:
    """ "+" beside a segment picker: a draft segment (hidden until the distribution is saved), chosen."""
    form = SegmentForm(request.POST, prefix="segment")
    field_name = "segment"
    segment = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            segment = segment_create(
                project=request.project,
                name=data["name"],
                type=data["type"],
                filter=data.get("filter"),
                is_draft=True,
            )
        except FilterError as error:
            form.add_error(None, f"Filter: {error}")
    picker = pickers.Picker(
        name=field_name,
        label="Segment",
        kind=str(ParameterKind.SEGMENT),
        options=pickers.options(
            request.project,
            ParameterKind.SEGMENT,
            selected=segment.public_id if segment else request.POST.get(field_name, ""),
        ),
        selected=segment.public_id if segment else request.POST.get(field_name, ""),
    )
    return _picker_response(
        request,
        picker,
        status=200 if segment else 422,
        segment_form=form if segment is None else SegmentForm(prefix="segment"),
        created=segment,
    )


@wizard_view
@require_GET
def segment_status(request: HttpRequest) -> HttpResponse:
    """The chosen segment's sync status, polled while it syncs and fetched when another is chosen."""
    segment = contexts.segment_of(request, request.GET.get("segment", "")[:60])
    return render(request, f"{PAGE}#segment_status", {"chosen_segment": segment})


@wizard_view
@require_POST
def rule_new(request: HttpRequest) -> HttpResponse:
    """The inline validation-rule editor's Save: the rule is created and chosen."""
    form = ValidationRuleForm(request.POST)
    rule = None
    if form.is_valid():
        try:
            rule = validation_rule_create(
                project=request.project,
                fields={"name": form.cleaned_data["name"], "rules": form.cleaned_data["rules"]},
            )
        except CampaignRefused as error:
            form.add_error(
                "name" if error.key == "duplicate_found" else None,
                str(error.message if hasattr(error, "message") else error),
            )
    selected = rule.public_id if rule else request.POST.get("validation_rule", "")
    picker = pickers.Picker(
        name="validation_rule",
        label="Validation rule",
        kind=str(ParameterKind.VALIDATION_RULE),
        options=pickers.options(request.project, ParameterKind.VALIDATION_RULE, selected=selected),
        selected=selected,
        required=False,
    )
    return _picker_response(
        request,
        picker,
        status=200 if rule else 422,
        rule_form=form if rule is None else ValidationRuleForm(),
        created=rule,
    )


@wizard_view
@require_POST
def customer_new(request: HttpRequest) -> HttpResponse:
    """ "+ new customer" beside the customer picker: created (or found by source_id) and chosen."""
    form = NewCustomerForm(request.POST)
    customer = None
    if form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if value}
        customer, _ = customer_upsert(project=request.project, fields=fields)
    selected = customer.public_id if customer else request.POST.get("customer", "")
    picker = pickers.Picker(
        name="customer",
        label="Customer",
        kind=str(ParameterKind.CUSTOMER),
        options=pickers.options(request.project, ParameterKind.CUSTOMER, selected=selected),
        selected=selected,
    )
    return _picker_response(
        request,
        picker,
        status=200 if customer else 422,
        customer_form=form if customer is None else NewCustomerForm(),
        created=customer,
    )
