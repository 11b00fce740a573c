from __future__ import annotations

import io
from typing import Any

import segno
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import services
from campaigns.api import vouchers_write
from campaigns.api.serializers import (
    CampaignCreateInput,
    CampaignUpdateInput,
    CampaignVoucherCreateInput,
    ImportItemInput,
    PublicationCreateInput,
    VoucherCreateInput,
)
from campaigns.barcode import code128_svg
from campaigns.models import Campaign, CampaignType, Publication, Voucher
from campaigns.promotions import attach_promotion_tiers
from campaigns.publications import PublicationRefused, publication_create_for_customer_fields
from campaigns.representation import (
    attach_rule_assignments,
    campaign_object,
    publication_list_item,
    publication_object,
    read_asset_token,
    voucher_object,
)
from campaigns.selectors import campaign_get, holders_of, voucher_get
from campaigns.services import CampaignRefused
from customers.selectors import customer_get
from customers.services import CustomerNotFound
from tenancy.api.errors import ApiError, invalid_query_params, not_found
from tenancy.api.fields import validated
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView
from tenancy.models import Project


def _refused(error: CampaignRefused | PublicationRefused) -> ApiError:
    messages = {
        "no_voucher_suitable_for_publication": "Couldn't find any voucher suitable for publication.",
        "voucher_already_published": "Voucher already published",
        "duplicate_found": "Duplicated resource found",
    }
    return ApiError(
        status_code=error.status_code,
        key=error.key,
        message=messages.get(error.key, error.key.replace("_", " ").capitalize()),
        details=error.details,
    )


def _access_campaign(project: Project, identifier: str) -> Campaign:
    campaign = campaign_get(project=project, identifier=identifier)
    if campaign is None:
        raise not_found("campaign", identifier)
    return campaign


def _access_voucher(project: Project, code: str) -> Voucher:
    voucher = voucher_get(project=project, code=code)
    if voucher is None:
        raise not_found("voucher", code)
    return voucher


def _voucher_response(project: Project, voucher: Voucher) -> dict[str, Any]:
    holder = holders_of(project=project, voucher_ids=[voucher.pk]).get(voucher.pk)
    return voucher_object(voucher, holder_public_id=holder)


# --- Campaigns ---------------------------------------------------------------------------------------


class CampaignCollectionApi(ProjectApiView):
    @extend_schema(operation_id="create_campaign", request=CampaignCreateInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        fields = validated(CampaignCreateInput, request.data)
        try:
            campaign = services.campaign_create(project=self.project, fields=fields)
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response(campaign_object(campaign), status=status.HTTP_200_OK)

    @extend_schema(
        operation_id="list_campaigns",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("campaign_type", str, enum=CampaignType.values),
            OpenApiParameter("order", str, enum=["created_at", "-created_at"]),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        campaigns = Campaign.objects.for_project(self.project)
        campaign_type = request.query_params.get("campaign_type")
        if campaign_type:
            if campaign_type not in CampaignType.values:
                raise invalid_query_params(
                    f"Query parameter campaign_type must be one of {', '.join(CampaignType.values)}."
                )
            campaigns = campaigns.filter(campaign_type=campaign_type)
        order = request.query_params.get("order") or "-created_at"
        if order not in ("created_at", "-created_at"):
            raise invalid_query_params("Query parameter order must be created_at or -created_at.")
        campaigns = campaigns.order_by(order, "id" if order == "created_at" else "-id")
        rows, total, _ = page_of(request, campaigns)
        attach_promotion_tiers(project=self.project, campaigns=rows)
        attach_rule_assignments(project=self.project, campaigns=rows)
        return Response(list_envelope("campaigns", [campaign_object(c) for c in rows], total))


class CampaignItemApi(ProjectApiView):
    @extend_schema(operation_id="get_campaign", responses=dict)
    def get(self, request: Request, identifier: str) -> Response:
        return Response(campaign_object(_access_campaign(self.project, identifier)))

    @extend_schema(operation_id="update_campaign", request=CampaignUpdateInput, responses=dict)
    def put(self, request: Request, identifier: str) -> Response:
        campaign = _access_campaign(self.project, identifier)
        fields = validated(CampaignUpdateInput, request.data)
        try:
            campaign = services.campaign_update(project=self.project, campaign=campaign, fields=fields)
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response(campaign_object(campaign))

    @extend_schema(operation_id="delete_campaign", responses={202: dict})
    def delete(self, request: Request, identifier: str) -> Response:
        campaign = _access_campaign(self.project, identifier)
        action_id = services.campaign_delete(project=self.project, campaign=campaign)
        return Response({"async_action_id": action_id}, status=status.HTTP_202_ACCEPTED)


class CampaignEnableApi(ProjectApiView):
    active = True

    @extend_schema(operation_id="enable_campaign", request=None, responses=dict)
    def post(self, request: Request, identifier: str) -> Response:
        campaign = _access_campaign(self.project, identifier)
        campaign = services.campaign_set_active(project=self.project, campaign=campaign, active=self.active)
        return Response(campaign_object(campaign))


class CampaignDisableApi(CampaignEnableApi):
    active = False

    @extend_schema(operation_id="disable_campaign", request=None, responses=dict)
    def post(self, request: Request, identifier: str) -> Response:
        return super().post(request, identifier)


class CampaignVouchersCreateApi(ProjectApiView):
    @extend_schema(
        operation_id="add_vouchers_to_campaign",
        parameters=[OpenApiParameter("vouchers_count", int)],
        request=CampaignVoucherCreateInput,
        responses={200: dict, 202: dict},
    )
    def post(self, request: Request, identifier: str) -> Response:
        campaign = _access_campaign(self.project, identifier)
        raw_count = request.query_params.get("vouchers_count") or "1"
        try:
            count = int(raw_count)
        except ValueError:
            raise invalid_query_params(
                f"Query parameter vouchers_count must be an integer, got {raw_count!r}."
            ) from None
        if not 1 <= count <= 5_000_000:
            raise invalid_query_params("Query parameter vouchers_count must be between 1 and 5000000.")
        fields = validated(CampaignVoucherCreateInput, request.data or {})
        try:
            if count == 1:
                voucher = services.campaign_add_one_code(
                    project=self.project, campaign=campaign, fields=fields
                )
                voucher.campaign = campaign
                return Response(voucher_object(voucher))
            job = services.campaign_add_codes(
                project=self.project, campaign=campaign, count=count, fields=fields
            )
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response({"async_action_id": job.public_id}, status=status.HTTP_202_ACCEPTED)


class CampaignVoucherWithCodeApi(ProjectApiView):
    @extend_schema(
        operation_id="add_voucher_with_specific_code_to_campaign",
        request=CampaignVoucherCreateInput,
        responses=dict,
    )
    def post(self, request: Request, identifier: str, code: str) -> Response:
        campaign = _access_campaign(self.project, identifier)
        fields = validated(CampaignVoucherCreateInput, request.data or {})
        try:
            voucher = services.voucher_create(
                project=self.project, code=code, campaign=campaign, fields=fields
            )
        except CampaignRefused as error:
            raise _refused(error) from None
        voucher.campaign = campaign
        return Response(voucher_object(voucher))


class CampaignImportApi(ProjectApiView):
    max_body_bytes = settings.API_BULK_MAX_BODY_BYTES

    @extend_schema(
        operation_id="import_vouchers_to_campaign", request=ImportItemInput(many=True), responses={202: dict}
    )
    def post(self, request: Request, identifier: str) -> Response:
        campaign = _access_campaign(self.project, identifier)
        if not isinstance(request.data, list) or not request.data:
            raise ApiError(
                status_code=400,
                key="invalid_payload",
                message="Invalid payload",
                details="The body must be a non-empty JSON array of vouchers.",
            )
        items = validated(ImportItemInput, request.data, many=True)
        try:
            action_id = services.campaign_import_codes(project=self.project, campaign=campaign, items=items)
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response({"async_action_id": action_id}, status=status.HTTP_202_ACCEPTED)


# --- Vouchers ----------------------------------------------------------------------------------------


class VoucherCollectionApi(ProjectApiView):
    @extend_schema(
        operation_id="list_vouchers",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("campaign", str),
            OpenApiParameter("campaign_id", str),
            OpenApiParameter("customer", str),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        vouchers = Voucher.objects.for_project(self.project).select_related("campaign")
        params = request.query_params
        campaign_name = params.get("campaign_id") or params.get("campaign")
        if campaign_name:
            campaign = campaign_get(project=self.project, identifier=campaign_name)
            vouchers = vouchers.filter(campaign=campaign) if campaign else vouchers.none()
        if params.get("customer"):
            customer = customer_get(project=self.project, identifier=params["customer"])
            held = (
                Publication.objects.for_project(self.project).filter(customer=customer).values("voucher_id")
            )
            vouchers = vouchers.filter(pk__in=held) if customer else vouchers.none()
        vouchers = vouchers.order_by("-created_at", "-id")
        rows, total, _ = page_of(request, vouchers, max_page=99)
        holders = holders_of(project=self.project, voucher_ids=[v.pk for v in rows]) if rows else {}
        items = [voucher_object(v, holder_public_id=holders.get(v.pk)) for v in rows]
        return Response(list_envelope("vouchers", items, total))


class VoucherItemApi(ProjectApiView):
    @extend_schema(operation_id="get_voucher", responses=dict)
    def get(self, request: Request, code: str) -> Response:
        return Response(_voucher_response(self.project, _access_voucher(self.project, code)))

    @extend_schema(operation_id="create_voucher", request=VoucherCreateInput, responses=dict)
    def post(self, request: Request, code: str) -> Response:
        fields = dict(validated(VoucherCreateInput, request.data or {}))
        campaign_name = fields.pop("campaign_id", None) or fields.pop("campaign", None)
        fields.pop("campaign", None)
        campaign = _access_campaign(self.project, campaign_name) if campaign_name else None
        try:
            voucher = services.voucher_create(
                project=self.project, code=code, campaign=campaign, fields=fields
            )
        except CampaignRefused as error:
            raise _refused(error) from None
        voucher.campaign = campaign
        return Response(voucher_object(voucher))

    @extend_schema(operation_id="update_voucher", request=vouchers_write.VoucherUpdateInput, responses=dict)
    def put(self, request: Request, code: str) -> Response:
        return vouchers_write.voucher_put(self, request, code)

    @extend_schema(
        operation_id="delete_voucher", parameters=[OpenApiParameter("force", bool)], responses={204: None}
    )
    def delete(self, request: Request, code: str) -> Response:
        return vouchers_write.voucher_remove(self, request, code)


def voucher_asset(request: HttpRequest, token: str) -> HttpResponse:
    """A code's QR code or barcode, by a signed token from the voucher's `assets`: no API key needed,
    so emails can embed it. `?format=svg` for SVG; PNG otherwise."""
    try:
        payload = read_asset_token(token)
    except signing.BadSignature:
        return HttpResponse(status=404)
    voucher = Voucher.objects.for_project(Project(pk=payload["p"])).filter(code=payload["c"]).first()
    if voucher is None:
        return HttpResponse(status=404)
    as_svg = request.GET.get("format") == "svg"
    if payload["k"] == "barcode":
        return HttpResponse(code128_svg(voucher.code), content_type="image/svg+xml")
    # Never a Micro QR (what segno.make picks for short codes): phone cameras and tills cannot read it.
    qr = segno.make_qr(voucher.code, error="m")
    if as_svg:
        return HttpResponse(qr.svg_inline(scale=4), content_type="image/svg+xml")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=6)
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- Publications ------------------------------------------------------------------------------------


def _publish(view: ProjectApiView, fields: dict[str, Any], *, join_once: bool) -> Response:
    campaign = voucher = None
    if fields.get("campaign"):
        campaign = _access_campaign(view.project, fields["campaign"]["name"])
    else:
        voucher = _access_voucher(view.project, fields["voucher"])
    try:
        result = publication_create_for_customer_fields(
            project=view.project,
            customer_fields=fields["customer"],
            campaign=campaign,
            voucher=voucher,
            count=(fields.get("campaign") or {}).get("count") or 1,
            source_id=fields.get("source_id"),
            channel=fields.get("channel"),
            metadata=fields.get("metadata"),
            join_once=join_once,
        )
    except CustomerNotFound as missing:
        raise not_found("customer", missing.identifier) from None
    except PublicationRefused as error:
        raise _refused(error) from None
    return Response(publication_object(result.publications), status=status.HTTP_200_OK)


def _join_once(request: Request) -> bool:
    raw = request.query_params.get("join_once")
    if raw in (None, "", "false"):
        return False
    if raw == "true":
        return True
    raise invalid_query_params("Query parameter join_once must be true or false.")


class PublicationCollectionApi(ProjectApiView):
    @extend_schema(
        operation_id="create_publication",
        parameters=[OpenApiParameter("join_once", bool)],
        request=PublicationCreateInput,
        responses=dict,
    )
    def post(self, request: Request) -> Response:
        join_once = _join_once(request)
        return _publish(self, dict(validated(PublicationCreateInput, request.data)), join_once=join_once)

    @extend_schema(
        operation_id="list_publications",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("campaign", str),
            OpenApiParameter("customer", str),
            OpenApiParameter("voucher", str),
            OpenApiParameter("source_id", str),
            OpenApiParameter("order", str, enum=["created_at", "-created_at"]),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        publications = Publication.objects.for_project(self.project).select_related(
            "customer", "voucher", "voucher__campaign"
        )
        if params.get("campaign"):
            campaign = campaign_get(project=self.project, identifier=params["campaign"])
            publications = publications.filter(campaign=campaign) if campaign else publications.none()
        if params.get("customer"):
            customer = customer_get(project=self.project, identifier=params["customer"])
            publications = publications.filter(customer=customer) if customer else publications.none()
        if params.get("voucher"):
            publications = publications.filter(voucher__code=params["voucher"])
        if params.get("source_id"):
            publications = publications.filter(source_id=params["source_id"])
        order = params.get("order") or "-created_at"
        if order not in ("created_at", "-created_at"):
            raise invalid_query_params("Query parameter order must be created_at or -created_at.")
        publications = publications.order_by(order, "id" if order == "created_at" else "-id")
        rows, total, _ = page_of(request, publications)
        return Response(list_envelope("publications", [publication_list_item(p) for p in rows], total))


def deep_object(query: Any) -> dict[str, Any]:
    """`customer[source_id]=c1&metadata[k][a]=1` → {"customer": {"source_id": "c1"}, "metadata": {...}}."""
    result: dict[str, Any] = {}
    for raw_key, value in query.items():
        parts = raw_key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            existing = target.setdefault(part, {})
            if not isinstance(existing, dict):
                raise invalid_query_params(f"Query parameter {raw_key} conflicts with {part}.")
            target = existing
        target[parts[-1]] = value
    return result


class PublicationCreateByGetApi(ProjectApiView):
    @extend_schema(operation_id="create_publication1", responses=dict)
    def get(self, request: Request) -> Response:
        join_once = _join_once(request)
        fields = deep_object(request.query_params)
        fields.pop("join_once", None)
        campaign = fields.get("campaign")
        if isinstance(campaign, str):  # Voucherify also accepts a plain campaign name
            fields["campaign"] = campaign = {"name": campaign}
        if isinstance(campaign, dict) and "count" in campaign:
            try:
                campaign["count"] = int(campaign["count"])
            except ValueError:
                raise invalid_query_params("Query parameter campaign[count] must be an integer.") from None
        return _publish(self, dict(validated(PublicationCreateInput, fields)), join_once=join_once)
