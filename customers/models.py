from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from tenancy.scoping import ProjectScopedManager, ProjectScopedQuerySet, TenantModel


class CustomerQuerySet(ProjectScopedQuerySet):
    def by_id_or_source_id(self, identifier: str) -> CustomerQuerySet:
        """Voucherify accepts either the customer's id or its source_id wherever a customer is named."""
        if identifier.startswith("cust_"):
            return self.filter(models.Q(public_id=identifier) | models.Q(source_id=identifier))
        return self.filter(source_id=identifier)


class Customer(TenantModel):
    public_id = models.CharField(max_length=40, editable=False)
    source_id = models.CharField(max_length=255, null=True, blank=True)
    name = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    email = models.EmailField(max_length=254, null=True, blank=True)
    phone = models.CharField(max_length=32, null=True, blank=True)
    birthdate = models.DateField(null=True, blank=True)
    address_city = models.CharField(max_length=255, null=True, blank=True)
    address_state = models.CharField(max_length=255, null=True, blank=True)
    address_line_1 = models.CharField(max_length=255, null=True, blank=True)
    address_line_2 = models.CharField(max_length=255, null=True, blank=True)
    address_country = models.CharField(max_length=255, null=True, blank=True)
    address_postal_code = models.CharField(max_length=32, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    system_metadata = models.JSONField(default=dict, blank=True)
    # The orders summary, kept in step by the order services so that a customer (or a page of them)
    # renders without aggregating orders. Canceled orders do not count.
    orders_count = models.PositiveIntegerField(default=0, db_default=0)
    orders_total_amount = models.BigIntegerField(default=0, db_default=0)
    last_order_amount = models.BigIntegerField(default=0, db_default=0)
    last_order_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    objects = ProjectScopedManager.from_queryset(CustomerQuerySet)()

    ADDRESS_FIELDS = ("city", "state", "line_1", "line_2", "country", "postal_code")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="customer_unique_public_id"),
            models.UniqueConstraint(
                fields=["project", "source_id"],
                name="customer_unique_source_id",
                condition=models.Q(source_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["project", "created_at"], name="customer_project_created"),
            models.Index(fields=["project", "updated_at"], name="customer_project_updated"),
            models.Index("project", Lower("email"), name="customer_project_email"),
            models.Index("project", Lower("address_city"), name="customer_project_city"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.source_id or self.public_id

    @property
    def address(self) -> dict[str, str | None]:
        return {field: getattr(self, f"address_{field}") for field in self.ADDRESS_FIELDS}


class BulkImport(TenantModel):
    """An asynchronous customer upsert: the rows wait here until a worker applies them."""

    class Status(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS"
        DONE = "DONE"
        FAILED = "FAILED"

    public_id = models.CharField(max_length=40, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    # The request's JSON array of rows as received, kept as text (never re-encoded) until the worker's
    # statement has parsed and applied it in PostgreSQL; emptied then.
    body = models.TextField(default="", blank=True)
    total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # The request that asked for the import, recorded on the events the worker publishes later.
    cause = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="bulkimport_unique_public_id")
        ]


class Order(TenantModel):
    """A shop's order. Amounts are integer cents; items are kept as sent (with computed fields)."""

    class Status(models.TextChoices):
        CREATED = "CREATED"
        PAID = "PAID"
        CANCELED = "CANCELED"
        FULFILLED = "FULFILLED"

    public_id = models.CharField(max_length=40, editable=False)
    source_id = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    amount = models.BigIntegerField(null=True, blank=True)
    initial_amount = models.BigIntegerField(null=True, blank=True)
    discount_amount = models.BigIntegerField(null=True, blank=True)
    items = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    referrer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="order_unique_public_id"),
            models.UniqueConstraint(
                fields=["project", "source_id"],
                name="order_unique_source_id",
                condition=models.Q(source_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["project", "created_at"], name="order_project_created"),
            models.Index(fields=["project", "customer", "created_at"], name="order_project_customer"),
        ]

    def __str__(self) -> str:
        return self.source_id or self.public_id


class EventDefinition(TenantModel):
    """A custom event name known to the project, offered in the distribution wizard's pickers."""

    name = models.CharField(max_length=300)
    metadata_schema = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="event_definition_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class CustomEvent(TenantModel):
    """One custom event a customer did, as tracked through `POST /v1/events`."""

    public_id = models.CharField(max_length=40, editable=False)
    name = models.CharField(max_length=300)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="custom_events")
    metadata = models.JSONField(default=dict, blank=True)
    referral = models.JSONField(null=True, blank=True)
    loyalty = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="custom_event_unique_public_id")
        ]
        indexes = [
            models.Index(
                fields=["project", "customer", "name", "created_at"], name="custom_event_customer_name"
            ),
            models.Index(fields=["project", "name", "created_at"], name="custom_event_project_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} by {self.customer_id}"
