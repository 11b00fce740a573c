"""`GET /v1/async-actions/{id}`: the status of work the API accepted with a 202.

It lives here, not in customers, because it answers for customers' bulk imports and for campaigns'
code generation alike, and campaigns may depend on customers but not the other way round.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import CodeGenerationJob
from customers.models import BulkImport
from customers.representation import bulk_import_async_action
from tenancy.api.errors import not_found
from tenancy.api.views import ProjectApiView
from tenancy.formats import iso


def code_generation_async_action(job: CodeGenerationJob) -> dict[str, Any]:
    return {
        "id": job.public_id,
        "type": "CAMPAIGN_VOUCHERS_GENERATION",
        "status": job.status,
        "result": {"requested": job.requested, "generated": job.generated, "error": job.error or None},
        "created_at": iso(job.created_at),
        "updated_at": iso(job.finished_at),
        "object": "async_action",
    }


class AsyncActionItemApi(ProjectApiView):
    @extend_schema(operation_id="get_async_action", responses=dict)
    def get(self, request: Request, identifier: str) -> Response:
        # Not the pending import's body (megabytes of rows): the action reports only its counts.
        bulk_import = (
            BulkImport.objects.for_project(self.project).defer("body").filter(public_id=identifier).first()
        )
        if bulk_import is not None:
            return Response(bulk_import_async_action(bulk_import))
        job = CodeGenerationJob.objects.for_project(self.project).filter(public_id=identifier).first()
        if job is not None:
            return Response(code_generation_async_action(job))
        raise not_found("async_action", identifier)
