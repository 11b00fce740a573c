from customers.models import Customer
from eventbus.models import DomainEvent


def test_create_customer_returns_the_voucherify_object_and_publishes_customer_created(api, project):
    response = api.post("/v1/customers", {"source_id": "c1", "email": "c1@example.com"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["object"] == "customer"
    assert body["id"].startswith("cust_")
    customer = Customer.objects.for_project(project).get(source_id="c1")
    assert [e.type for e in DomainEvent.objects.for_project(project).filter(customer=customer)] == [
        "customer.created"
    ]
