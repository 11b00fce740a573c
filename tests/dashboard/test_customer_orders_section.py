from customers.models import CustomEvent, Order
from tenancy.templatetags.dashboard import cents
from tests.factories import CustomerFactory


def test_customer_page_lists_the_customers_orders_and_custom_events(client, owner, project, other_project):
    customer = CustomerFactory(project=project, orders_count=1, orders_total_amount=123456)
    Order.objects.create(
        project=project, public_id="ord_1", source_id="shop-order-1", amount=123456, customer=customer
    )
    CustomEvent.objects.create(project=project, public_id="evcus_1", name="cart_abandoned", customer=customer)
    foreign = CustomerFactory(project=other_project)
    Order.objects.create(
        project=other_project, public_id="ord_2", source_id="rival-order", amount=1, customer=foreign
    )
    client.force_login(owner)

    response = client.get(f"/customers/{customer.public_id}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "shop-order-1" in page
    assert "1,234.56" in page
    assert "cart_abandoned" in page
    assert "rival-order" not in page


def test_cents_formats_integer_cents_with_two_decimals():
    assert cents(0) == "0.00"
    assert cents(5) == "0.05"
    assert cents(123456) == "1,234.56"
    assert cents(-250) == "-2.50"
    assert cents(None) == "—"
