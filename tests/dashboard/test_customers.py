"""The customer list (search, keyset paging, htmx live search) and the customer page."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_upsert
from eventbus.models import DomainEvent
from tests.dashboard.conftest import project_state, signed_in
from tests.factories import CustomerFactory

CUSTOMER_LINK = re.compile(r'href="/customers/(cust_[0-9a-f]+)/"')


def listed_ids(response) -> list[str]:
    return CUSTOMER_LINK.findall(response.content.decode())


@pytest.fixture
def many_customers(project):
    """120 customers a minute apart; the newest first, as the list shows them."""
    start = timezone.now() - timedelta(days=1)
    customers = [
        CustomerFactory(project=project, name=f"Customer {n:03d}", created_at=start + timedelta(minutes=n))
        for n in range(120)
    ]
    return [customer.public_id for customer in reversed(customers)]


def test_the_list_shows_the_newest_50_with_a_link_to_older(many_customers, owner):
    response = signed_in(owner).get(reverse("customers:list"))

    assert response.status_code == 200
    assert listed_ids(response) == many_customers[:50]
    assert response.context["previous_url"] is None
    assert response.context["next_url"].startswith("/customers/?after=")


def test_paging_walks_every_customer_once_and_back(many_customers, owner):
    client = signed_in(owner)
    first = client.get(reverse("customers:list"))
    second = client.get(first.context["next_url"])
    third = client.get(second.context["next_url"])

    assert listed_ids(second) == many_customers[50:100]
    assert listed_ids(third) == many_customers[100:]
    assert third.context["next_url"] is None
    back = client.get(third.context["previous_url"])
    assert listed_ids(back) == many_customers[50:100]
    back_to_start = client.get(back.context["previous_url"])
    assert listed_ids(back_to_start) == many_customers[:50]
    assert back_to_start.context["previous_url"] is None


def test_a_garbled_cursor_shows_the_first_page(many_customers, owner):
    response = signed_in(owner).get(reverse("customers:list"), {"after": "not a cursor!"})

    assert response.status_code == 200
    assert listed_ids(response) == many_customers[:50]


@pytest.fixture
def searchable(project, other_project):
    ada = CustomerFactory(project=project, name="Ada Lovelace", email="ada@example.com", source_id="crm-1")
    grace = CustomerFactory(project=project, name="Grace Hopper", email="grace@navy.test", source_id="crm-2")
    alan = CustomerFactory(
        project=project, name="Alan Turing", email="alan@bletchley.test", source_id="legacy-ada"
    )
    CustomerFactory(project=other_project, name="Ada Rival", email="ada@rival.test")
    return ada, grace, alan


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("lovelace", ["ada"]),  # name, any case
        ("NAVY.test", ["grace"]),  # email
        ("crm-", ["grace", "ada"]),  # source id
        ("ada", ["alan", "ada"]),  # name, email or source id; never the other project's "Ada Rival"
        ("nobody", []),
    ],
)
def test_search_matches_name_email_or_source_id_in_this_project(searchable, owner, q, expected):
    by_name = {
        "ada": searchable[0].public_id,
        "grace": searchable[1].public_id,
        "alan": searchable[2].public_id,
    }

    response = signed_in(owner).get(reverse("customers:list"), {"q": q})

    assert listed_ids(response) == [by_name[name] for name in expected]


def test_search_by_customer_id(searchable, owner):
    ada = searchable[0]

    response = signed_in(owner).get(reverse("customers:list"), {"q": ada.public_id})

    assert listed_ids(response) == [ada.public_id]


def test_an_empty_search_says_so(searchable, owner):
    response = signed_in(owner).get(reverse("customers:list"), {"q": "nobody"})

    assert "No customers match “nobody”" in response.content.decode()


def test_live_search_returns_only_the_table_partial(searchable, owner):
    response = signed_in(owner).get(reverse("customers:list"), {"q": "grace"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    content = response.content.decode().strip()
    assert content.startswith('<section class="card loading-dim" id="customer-table">')
    assert content.endswith("</section>")
    assert "<html" not in content
    assert 'class="sidebar"' not in content
    assert listed_ids(response) == [searchable[1].public_id]
    assert response["Vary"] == "HX-Request, Cookie"


def test_the_full_page_is_also_a_plain_search_form(searchable, owner):
    response = signed_in(owner).get(reverse("customers:list"), {"q": "grace"})

    content = response.content.decode()
    assert '<form method="get" action="/customers/" class="search" role="search">' in content
    assert 'hx-get="/customers/"' in content
    assert 'value="grace"' in content
    assert listed_ids(response) == [searchable[1].public_id]


def test_a_history_restore_gets_the_full_page(searchable, owner):
    response = signed_in(owner).get(
        reverse("customers:list"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in response.content.decode()


def test_pager_links_work_with_and_without_htmx(many_customers, owner):
    response = signed_in(owner).get(reverse("customers:list"))

    next_url = response.context["next_url"].replace("&", "&amp;")
    assert f'href="{next_url}" hx-get="{next_url}" hx-target="#customer-table"' in response.content.decode()


@pytest.mark.parametrize("count", [3, 60])
def test_the_list_costs_a_fixed_number_of_queries(project, owner, count, django_assert_num_queries):
    CustomerFactory.create_batch(count, project=project)
    client = signed_in(owner)
    client.get(reverse("customers:list"))  # the first request stores the selected project in the session

    # session, user, membership + project, the user's projects (switcher), one page of customers
    with django_assert_num_queries(5):
        client.get(reverse("customers:list"))
    # the partial has no switcher
    with django_assert_num_queries(4):
        client.get(reverse("customers:list"), {"q": "customer"}, HTTP_HX_REQUEST="true")


# The customer page ------------------------------------------------------------------------------


def test_the_customer_page_shows_profile_address_metadata_and_placeholders(project, owner):
    customer = CustomerFactory(
        project=project,
        name="Ada Lovelace",
        email="ada@example.com",
        phone="+44 20 7946 0000",
        address_line_1="12 St James's Square",
        address_city="London",
        address_country="GB",
        metadata={"tier": "gold", "visits": 3, "tags": ["vip"]},
    )

    response = signed_in(owner).get(reverse("customers:detail", args=[customer.public_id]))

    assert response.status_code == 200
    content = response.content.decode()
    assert "<dt>Email</dt><dd>ada@example.com</dd>" in content
    assert "<dt>Phone</dt><dd>+44 20 7946 0000</dd>" in content
    assert "<address>12 St James&#x27;s Square<br>London<br>GB</address>" in content
    assert (
        '<pre class="json">{\n  &quot;tags&quot;: [\n    &quot;vip&quot;\n  ],'
        "\n  &quot;tier&quot;: &quot;gold&quot;,\n  &quot;visits&quot;: 3\n}</pre>"
    ) in content
    for placeholder in ("customer-codes", "customer-orders", "customer-segments", "customer-messages"):
        assert f'id="{placeholder}"' in content


def test_the_customer_page_shows_this_customers_recent_events(project, owner):
    customer, _ = customer_upsert(project=project, fields={"source_id": "c1", "name": "Ada"})
    customer_upsert(project=project, fields={"source_id": "c1", "name": "Ada Lovelace"})
    customer_upsert(project=project, fields={"source_id": "c2", "name": "Somebody else"})

    response = signed_in(owner).get(reverse("customers:detail", args=[customer.public_id]))

    assert [event.type for event, _ in response.context["events"]] == ["customer.updated", "customer.created"]
    assert '<span class="badge badge-mono">customer.updated</span>' in response.content.decode()


def test_a_marketer_edits_a_customer_through_the_service(project, marketer):
    customer = CustomerFactory(project=project, name="Ada", email="ada@example.com", metadata={})

    response = signed_in(marketer).post(
        reverse("customers:edit", args=[customer.public_id]),
        {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "",
            "address_city": "London",
            "metadata": '{"tier": "gold"}',
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.public_id}/"
    saved = Customer.objects.for_project(project).values("name", "address_city", "metadata", "phone").get()
    assert saved == {
        "name": "Ada Lovelace",
        "address_city": "London",
        "metadata": {"tier": "gold"},
        "phone": None,
    }
    event = DomainEvent.objects.for_project(project).get(customer=customer)
    assert (event.type, event.data) == (
        "customer.updated",
        {"changed_fields": ["address_city", "metadata", "name"]},
    )
    assert event.cause["channel"] == "USER_PORTAL"
    assert event.cause["user"]["email"] == "marketer@acme.test"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("metadata", "[1, 2]", '<a href="#id_metadata">Metadata</a>: Must be a JSON object.'),
        ("metadata", "{oops", '<a href="#id_metadata">Metadata</a>: Not valid JSON: Expecting property name'),
        ("email", "not-an-email", '<a href="#id_email">Email</a>: Must be a valid email address.'),
        ("phone", "call me", '<a href="#id_phone">Phone</a>: Must be a phone number of digits'),
    ],
)
def test_a_bad_edit_is_refused_naming_the_field(project, owner, field, value, error):
    customer = CustomerFactory(project=project, name="Ada", metadata={"tier": "gold"})
    before = project_state(project)

    response = signed_in(owner).post(
        reverse("customers:edit", args=[customer.public_id]),
        {"name": "Changed", "metadata": "{}", field: value},
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert project_state(project) == before


def test_the_customer_page_lists_the_codes_published_to_this_customer_only(project, other_project, owner):
    from campaigns.publications import publication_create
    from tests.campaigns.factories import make_campaign

    campaign = make_campaign(project, name="Welcome", codes_count=3)
    ada = CustomerFactory(project=project, name="Ada")
    grace = CustomerFactory(project=project, name="Grace")
    adas = publication_create(project=project, customer=ada, campaign=campaign).publications[0].voucher
    graces = publication_create(project=project, customer=grace, campaign=campaign).publications[0].voucher

    content = signed_in(owner).get(reverse("customers:detail", args=[ada.public_id])).content.decode()

    codes_section = content[content.index('id="customer-codes"') : content.index('id="customer-orders"')]
    assert f"<code>{adas.code}</code>" in codes_section
    assert graces.code not in codes_section
    assert f'href="/campaigns/{campaign.public_id}/">Welcome</a>' in codes_section
    assert '<span class="badge">active</span>' in codes_section


def test_a_customer_without_codes_is_told_so(project, owner):
    customer = CustomerFactory(project=project)

    content = signed_in(owner).get(reverse("customers:detail", args=[customer.public_id])).content.decode()

    assert "No codes published to this customer yet." in content
