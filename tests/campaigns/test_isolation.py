"""Another project's campaigns, codes and publications do not exist for an outsider: 404, and nothing
changes; lists never show them."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, Voucher
from campaigns.representation import asset_token, read_asset_token
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.support import nothing_changes

pytestmark = pytest.mark.django_db


@pytest.fixture
def ours(api, project):
    campaign = make_campaign(project, name="Ours", codes_count=3)
    code = api.post(
        "/v1/publications", {"customer": {"source_id": "c1"}, "campaign": {"name": "Ours"}}, format="json"
    ).json()["voucher"]["code"]
    api.post("/v1/vouchers/FREE-1", {"campaign": "Ours"}, format="json")
    return {"id": campaign.public_id, "name": campaign.name, "code": code, "free": "FREE-1"}


ENDPOINTS = [
    ("get", "/v1/campaigns/{id}", None),
    ("get", "/v1/campaigns/{name}", None),
    ("put", "/v1/campaigns/{id}", {"description": "mine now"}),
    ("delete", "/v1/campaigns/{id}", None),
    ("post", "/v1/campaigns/{id}/enable", None),
    ("post", "/v1/campaigns/{id}/disable", None),
    ("post", "/v1/campaigns/{id}/vouchers?vouchers_count=1", {}),
    ("post", "/v1/campaigns/{id}/vouchers?vouchers_count=5", {}),
    ("post", "/v1/campaigns/{id}/vouchers/NEW-CODE", {}),
    ("post", "/v1/campaigns/{id}/import", [{"code": "IMPORTED"}]),
    ("get", "/v1/vouchers/{code}", None),
    ("get", "/v1/vouchers/{free}", None),
    ("post", "/v1/vouchers/NEW-CODE", {"campaign": "{name}"}),
    ("post", "/v1/vouchers/NEW-CODE", {"campaign_id": "{id}"}),
    ("post", "/v1/publications", {"customer": {"source_id": "x"}, "campaign": {"name": "{name}"}}),
    ("post", "/v1/publications", {"customer": {"source_id": "x"}, "voucher": "{free}"}),
    ("get", "/v1/publications/create?customer[source_id]=x&campaign[name]={name}", None),
    ("get", "/v1/publications/create?customer[source_id]=x&voucher={free}", None),
]


def _fill(value, ours):
    if isinstance(value, str):
        return value.format(**ours)
    if isinstance(value, dict):
        return {key: _fill(inner, ours) for key, inner in value.items()}
    if isinstance(value, list):
        return [_fill(inner, ours) for inner in value]
    return value


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_an_outsider_gets_404_for_our_campaigns_and_codes_and_changes_nothing(
    outsider_api, ours, method, path, body
):
    with nothing_changes():
        response = getattr(outsider_api, method)(_fill(path, ours), _fill(body, ours), format="json")

    assert_error(response, 404, "not_found")


LISTS = [
    ("/v1/campaigns", "campaigns"),
    ("/v1/vouchers", "vouchers"),
    ("/v1/vouchers?campaign={name}", "vouchers"),
    ("/v1/vouchers?customer=c1", "vouchers"),
    ("/v1/publications", "publications"),
    ("/v1/publications?campaign={name}", "publications"),
    ("/v1/publications?voucher={code}", "publications"),
]


@pytest.mark.parametrize(("path", "array"), LISTS)
def test_an_outsiders_lists_do_not_show_our_rows(outsider_api, ours, path, array):
    response = outsider_api.get(_fill(path, ours))

    assert response.status_code == 200
    assert (response.json()[array], response.json()["total"]) == ([], 0)


# Endpoints covered by the tests below, named for tests/tenancy/test_isolation_matrix.py's meta-test.
OWN_WRITES = [
    (
        "post",
        "/v1/campaigns",
        {
            "name": "{name}",
            "campaign_type": "DISCOUNT_COUPONS",
            "voucher": {"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT", "percent_off": 10}},
        },
    )
]


@pytest.mark.parametrize(("method", "path", "body"), OWN_WRITES)
def test_an_outsider_using_our_campaign_name_creates_their_own_campaign_and_ours_is_untouched(
    outsider_api, ours, project, other_project, method, path, body
):
    before = list(Campaign.objects.for_project(project).order_by("pk").values())

    response = getattr(outsider_api, method)(_fill(path, ours), _fill(body, ours), format="json")

    assert response.status_code == 200
    assert list(Campaign.objects.for_project(project).order_by("pk").values()) == before
    theirs = Campaign.objects.for_project(other_project).get(name=ours["name"])
    assert theirs.public_id != ours["id"]


def test_an_outsider_cannot_read_our_code_generation_job(api, outsider_api, ours):
    action_id = api.post(
        f"/v1/campaigns/{ours['id']}/vouchers?vouchers_count=2000", {}, format="json"
    ).json()["async_action_id"]
    assert api.get(f"/v1/async-actions/{action_id}").json()["type"] == "CAMPAIGN_VOUCHERS_GENERATION"

    response = outsider_api.get(f"/v1/async-actions/{action_id}")

    assert_error(response, 404, "not_found")


ASSET_PATH = "/v1/vouchers/assets/{token}"


def test_an_asset_token_names_its_project_and_code_and_cannot_be_altered(
    client, ours, project, other_project
):
    voucher = Voucher.objects.for_project(project).get(code=ours["code"])
    token = asset_token(voucher, "qr")
    payload = read_asset_token(token)
    forged = token.replace(token.split(":")[0], token.split(":")[0][::-1])

    assert client.get(ASSET_PATH.format(token=token)).status_code == 200
    assert payload["p"] == project.pk
    assert client.get(ASSET_PATH.format(token=forged)).status_code == 404
    # The same code in another project is a different row: the token never reaches it.
    assert not Voucher.objects.for_project(other_project).filter(code=ours["code"]).exists()
