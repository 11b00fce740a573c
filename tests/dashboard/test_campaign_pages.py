"""The campaign list and the campaign page: counts, the codes table with its holders, access."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Voucher
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import redeem
from tests.dashboard.conftest import signed_in

CAMPAIGN_LINK = re.compile(r'href="/campaigns/(camp_[0-9A-Za-z_]+)/"')


def listed_ids(response) -> list[str]:
    return CAMPAIGN_LINK.findall(response.content.decode())


def publish(api, customer_source_id: str, campaign: str, count: int = 1):
    response = api.post(
        "/v1/publications",
        {
            "customer": {"source_id": customer_source_id, "name": customer_source_id.title()},
            "campaign": {"name": campaign, "count": count},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def counts_of(response, campaign: Campaign) -> dict[str, int]:
    """The counts the list shows for `campaign`."""
    row = next(row for row in response.context["page"].object_list if row.pk == campaign.pk)
    return {
        "generated": row.vouchers_count,
        "published": row.published_count,
        "redeemed": row.redeemed_count,
    }


# The list ----------------------------------------------------------------------------------------


def test_the_list_shows_each_campaign_with_its_counts_newest_first(project, api, owner):
    # given two campaigns, three codes of the older one published to two customers
    summer = make_campaign(project, name="Summer", codes_count=5)
    winter = make_campaign(project, name="Winter", codes_count=3)
    Campaign.objects.for_project(project).filter(pk=summer.pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    publish(api, "alice", "Summer", count=2)
    publish(api, "bob", "Summer")

    # when the owner opens the list
    response = signed_in(owner).get(reverse("campaigns:list"))

    # then both are there, newest first, with generated / published / redeemed
    assert response.status_code == 200
    assert listed_ids(response) == [winter.public_id, summer.public_id]
    assert counts_of(response, summer) == {"generated": 5, "published": 3, "redeemed": 0}
    assert counts_of(response, winter) == {"generated": 3, "published": 0, "redeemed": 0}
    content = response.content.decode()
    assert "DISCOUNT_COUPONS" in content
    assert "Active" in content


def _codes(project, campaign) -> list[str]:
    return list(
        Voucher.objects.for_project(project)
        .filter(campaign=campaign)
        .order_by("sequence")
        .values_list("code", flat=True)
    )


def _redeemed(api, code: str) -> str:
    response = redeem(api, code, customer={"source_id": "alice"}, order={"amount": 5000})
    assert response.status_code == 200, response.content
    return response.json()["redemptions"][0]["id"]


def test_redeemed_counts_codes_redeemed_at_least_once_and_not_rolled_back(project, api, owner):
    # given four codes of Summer: one redeemed twice, one redeemed then rolled back, one refused
    # (disabled), one untouched; and a promotion whose tier was redeemed (no codes to count)
    summer = make_campaign(project, name="Summer", codes_count=4)
    winter = make_campaign(project, name="Winter", codes_count=2)
    promotion = make_campaign(project, name="Deals", campaign_type="PROMOTION")
    twice, rolled_back, refused, _ = _codes(project, summer)
    _redeemed(api, twice)
    _redeemed(api, twice)
    rollback = api.post(f"/v1/redemptions/{_redeemed(api, rolled_back)}/rollback", {}, format="json")
    assert rollback.status_code == 200, rollback.content
    api.post(f"/v1/vouchers/{refused}/disable")
    assert redeem(api, refused, customer={"source_id": "alice"}).status_code == 400
    tier = promotion.promotion_tier_rows.get()
    tier_redemption = api.post(
        "/v1/redemptions",
        {"redeemables": [{"object": "promotion_tier", "id": tier.public_id}], "order": {"amount": 5000}},
        format="json",
    )
    assert tier_redemption.status_code == 200, tier_redemption.content

    # when the owner opens the list and Summer's page
    client = signed_in(owner)
    listed = client.get(reverse("campaigns:list"))
    page = client.get(reverse("campaigns:detail", args=[summer.public_id]))

    # then only the code redeemed (twice) counts, once
    assert counts_of(listed, summer)["redeemed"] == 1
    assert counts_of(listed, winter)["redeemed"] == 0
    assert counts_of(listed, promotion)["redeemed"] == 0
    assert page.context["redeemed_count"] == 1


def test_redeemed_counts_only_our_projects_redemptions(project, other_project, api, outsider_api, owner):
    ours = make_campaign(project, name="Ours", codes_count=2)
    theirs = make_campaign(other_project, name="Theirs", codes_count=2)
    _redeemed(api, _codes(project, ours)[0])
    _redeemed(outsider_api, _codes(other_project, theirs)[0])
    _redeemed(outsider_api, _codes(other_project, theirs)[1])

    listed = signed_in(owner).get(reverse("campaigns:list"))

    assert counts_of(listed, ours)["redeemed"] == 1


def test_the_list_shows_inactive_campaigns_and_unfinished_generation(project, owner):
    make_campaign(project, name="Paused", codes_count=1)
    Campaign.objects.for_project(project).update(active=False, creation_status="IN_PROGRESS")

    content = signed_in(owner).get(reverse("campaigns:list")).content.decode()

    assert "Inactive" in content
    assert "IN_PROGRESS" in content


def test_the_list_pages_by_50(project, owner):
    start = timezone.now() - timedelta(days=1)
    for n in range(55):
        campaign = make_campaign(project, name=f"Campaign {n:02d}")
        Campaign.objects.for_project(project).filter(pk=campaign.pk).update(
            created_at=start + timedelta(minutes=n)
        )
    client = signed_in(owner)

    first = client.get(reverse("campaigns:list"))
    second = client.get(reverse("campaigns:list"), {"page": 2})

    assert len(listed_ids(first)) == 50
    assert len(listed_ids(second)) == 5
    assert set(listed_ids(first)).isdisjoint(listed_ids(second))
    assert 'href="?page=2"' in first.content.decode()


def test_the_list_shows_only_our_projects_campaigns(project, other_project, owner):
    ours = make_campaign(project, name="Ours")
    make_campaign(other_project, name="Theirs")

    response = signed_in(owner).get(reverse("campaigns:list"))

    assert listed_ids(response) == [ours.public_id]
    assert "Theirs" not in response.content.decode()


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_costs_a_fixed_number_of_queries(project, api, owner, count, django_assert_num_queries):
    for n in range(count):
        campaign = make_campaign(project, name=f"Campaign {n}", codes_count=2)
        _redeemed(api, _codes(project, campaign)[0])
    publish(api, "alice", "Campaign 0")
    client = signed_in(owner)
    client.get(reverse("campaigns:list"))  # the first request stores the selected project in the session

    # session, user, membership + project, the user's projects (switcher), the count, one page with counts
    with django_assert_num_queries(6):
        client.get(reverse("campaigns:list"))


def test_the_nav_links_to_the_campaign_list(project, owner):
    content = signed_in(owner).get(reverse("dashboard:home")).content.decode()

    assert f'href="{reverse("campaigns:list")}"' in content


# The campaign page -------------------------------------------------------------------------------


def test_the_campaign_page_shows_settings_counts_codes_and_the_distributions_placeholder(project, api, owner):
    campaign = make_campaign(
        project,
        name="Summer",
        codes_count=4,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "code_config": {"length": 8, "prefix": "SUM-"},
        },
        start_date="2026-06-01T00:00:00Z",
    )
    publish(api, "alice", "Summer")

    response = signed_in(owner).get(reverse("campaigns:detail", args=[campaign.public_id]))

    assert response.status_code == 200
    content = response.content.decode()
    assert response.context["published_count"] == 1
    assert response.context["redeemed_count"] == 0
    assert campaign.vouchers_count == 4
    assert "10% off" in content
    assert "SUM-" in content
    assert "Jun 1, 2026" in content
    assert len(response.context["codes"].rows) == 4
    assert 'id="campaign-distributions"' in content
    assert "No distribution uses this campaign yet</strong>" in content


def test_the_codes_table_shows_each_codes_holder_linked_to_the_customer_page(project, api, owner):
    campaign = make_campaign(project, name="Summer", codes_count=3)
    published = publish(api, "alice", "Summer")

    response = signed_in(owner).get(reverse("campaigns:detail", args=[campaign.public_id]))

    rows = {row.voucher.code: row for row in response.context["codes"].rows}
    held = rows[published["voucher"]["code"]]
    assert held.publication.customer.public_id == published["customer_id"]
    assert [row.publication for code, row in rows.items() if code != published["voucher"]["code"]] == [
        None,
        None,
    ]
    customer_url = reverse("customers:detail", args=[published["customer_id"]])
    assert f'<a href="{customer_url}">Alice</a>' in response.content.decode()


def test_a_gift_campaign_page_summarises_the_gift(project, owner):
    campaign = make_campaign(project, name="Gifts", campaign_type="GIFT_VOUCHERS", codes_count=1)

    content = signed_in(owner).get(reverse("campaigns:detail", args=[campaign.public_id])).content.decode()

    assert "10.00" in content
    assert "APPLY_TO_ORDER" in content


def test_a_promotion_page_has_no_codes_table(project, owner):
    campaign = make_campaign(project, name="Promo", campaign_type="PROMOTION")

    response = signed_in(owner).get(reverse("campaigns:detail", args=[campaign.public_id]))

    assert response.status_code == 200
    assert response.context["codes"] is None
    assert 'id="campaign-codes"' not in response.content.decode()


# The codes table's paging ------------------------------------------------------------------------


@pytest.fixture
def big_campaign(project):
    """120 codes, listed in generation order."""
    return make_campaign(project, name="Big", codes_count=120)


CODE_CELL = re.compile(r"<tr>\s*<td><code>([^<]+)</code>")
PAGER_LINK = re.compile(r'href="([^"]+)" hx-get="[^"]+" hx-target="#campaign-codes"[^>]*>([^<]+)</a>')


def shown_codes(response) -> list[str]:
    """The codes in the table, read from the HTML (an htmx fragment carries no template context)."""
    return CODE_CELL.findall(response.content.decode())


def pager(response) -> dict[str, str]:
    """{"next": url, "previous": url} for the pager links the table shows."""
    links = {}
    for url, label in PAGER_LINK.findall(response.content.decode()):
        links["next" if "Next" in label else "previous"] = url.replace("&amp;", "&")
    return links


def test_codes_page_forward_and_back_through_every_code_once(project, big_campaign, owner):
    client = signed_in(owner)
    first = client.get(reverse("campaigns:detail", args=[big_campaign.public_id]))
    second = client.get(pager(first)["next"], HTTP_HX_REQUEST="true")
    third = client.get(pager(second)["next"], HTTP_HX_REQUEST="true")

    walked = shown_codes(first) + shown_codes(second) + shown_codes(third)
    assert [len(shown_codes(page)) for page in (first, second, third)] == [50, 50, 20]
    assert sorted(walked) == sorted(Voucher.objects.for_project(project).values_list("code", flat=True))
    assert pager(first).keys() == {"next"}
    assert pager(third).keys() == {"previous"}
    back = client.get(pager(third)["previous"], HTTP_HX_REQUEST="true")
    assert shown_codes(back) == shown_codes(second)
    back_to_start = client.get(pager(back)["previous"], HTTP_HX_REQUEST="true")
    assert shown_codes(back_to_start) == shown_codes(first)
    assert pager(back_to_start).keys() == {"next"}


def test_the_codes_pager_works_with_and_without_htmx(project, big_campaign, owner):
    client = signed_in(owner)
    page = client.get(reverse("campaigns:detail", args=[big_campaign.public_id]))
    next_url = page.context["codes"].next_url

    assert f'href="{next_url}" hx-get="{next_url}" hx-target="#campaign-codes"' in page.content.decode()
    fragment = client.get(next_url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<section class="card loading-dim" id="campaign-codes">')
    assert "<html" not in fragment
    full_page = client.get(next_url)
    assert "<html" in full_page.content.decode()
    assert shown_codes(full_page) == shown_codes(client.get(next_url, HTTP_HX_REQUEST="true"))
    assert len(shown_codes(full_page)) == 50


def test_a_garbled_codes_cursor_shows_the_first_page(project, big_campaign, owner):
    client = signed_in(owner)
    first = client.get(reverse("campaigns:detail", args=[big_campaign.public_id]))

    response = client.get(reverse("campaigns:codes", args=[big_campaign.public_id]), {"after": "nope"})

    assert shown_codes(response) == shown_codes(first)


def test_the_codes_partial_costs_a_fixed_number_of_queries(
    project, api, big_campaign, owner, django_assert_num_queries
):
    for n in range(5):
        publish(api, f"customer-{n}", "Big")
    client = signed_in(owner)
    client.get(reverse("dashboard:home"))  # the first request stores the selected project in the session
    url = reverse("campaigns:codes", args=[big_campaign.public_id])

    # session, user, membership + project, the campaign, one page of codes, their publications + holders
    with django_assert_num_queries(6):
        client.get(url, HTTP_HX_REQUEST="true")
    with django_assert_num_queries(6):
        client.get(url, {"after": 50}, HTTP_HX_REQUEST="true")


# Access ------------------------------------------------------------------------------------------


def test_a_viewer_can_read_the_list_and_the_campaign_page(project, api, viewer):
    campaign = make_campaign(project, name="Summer", codes_count=2)
    publish(api, "alice", "Summer")
    client = signed_in(viewer)

    listing = client.get(reverse("campaigns:list"))
    page = client.get(reverse("campaigns:detail", args=[campaign.public_id]))
    codes = client.get(reverse("campaigns:codes", args=[campaign.public_id]), HTTP_HX_REQUEST="true")

    assert (listing.status_code, page.status_code, codes.status_code) == (200, 200, 200)
    assert listed_ids(listing) == [campaign.public_id]
    assert page.context["published_count"] == 1


def test_another_projects_campaign_is_a_404(project, other_project, owner):
    theirs = make_campaign(other_project, name="Theirs", codes_count=2)
    client = signed_in(owner)

    assert client.get(reverse("campaigns:detail", args=[theirs.public_id])).status_code == 404
    assert (
        client.get(reverse("campaigns:codes", args=[theirs.public_id]), HTTP_HX_REQUEST="true").status_code
        == 404
    )
    assert client.get(reverse("campaigns:detail", args=["camp_missing"])).status_code == 404


def test_an_outsider_gets_a_404_for_our_campaign_and_does_not_see_it_listed(project, outsider):
    ours = make_campaign(project, name="Ours", codes_count=2)
    client = signed_in(outsider)

    assert client.get(reverse("campaigns:detail", args=[ours.public_id])).status_code == 404
    assert client.get(reverse("campaigns:codes", args=[ours.public_id])).status_code == 404
    listing = client.get(reverse("campaigns:list"))
    assert listed_ids(listing) == []
    assert "Ours" not in listing.content.decode()


def test_signed_out_visitors_go_to_the_login_page(project):
    campaign = make_campaign(project, name="Summer")
    client = Client()

    for url in (reverse("campaigns:list"), reverse("campaigns:detail", args=[campaign.public_id])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
