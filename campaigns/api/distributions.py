"""`GET /v1/campaigns/{id}/distributions`: the distributions that publish or react to a campaign."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.views import _access_campaign
from distributions.analytics import campaign_distribution_rows
from distributions.selectors import distributions_of_campaign
from tenancy.api.paging import list_envelope
from tenancy.api.views import ProjectApiView


class CampaignDistributionsApi(ProjectApiView):
    @extend_schema(operation_id="list_campaign_distributions", responses=dict)
    def get(self, request: Request, identifier: str) -> Response:
        """Each with its state, number of channels, codes published through it, messages delivered,
        codes redeemed at least once and the redemption rate (redeemed ÷ published); newest first."""
        campaign = _access_campaign(self.project, identifier)
        distributions = distributions_of_campaign(project=self.project, campaign_public_id=campaign.public_id)
        rows = campaign_distribution_rows(project=self.project, distributions=distributions)
        items = [
            {
                "id": row["distribution"].public_id,
                "object": "campaign_distribution",
                "name": row["distribution"].name,
                "status": row["distribution"].status,
                "channels_count": row["channels"],
                "codes_published": row["codes_published"],
                "messages_delivered": row["messages_delivered"],
                "codes_redeemed": row["codes_redeemed"],
                "redemption_rate": row["redemption_rate"],
            }
            for row in rows
        ]
        return Response(list_envelope("distributions", items, len(items)))
