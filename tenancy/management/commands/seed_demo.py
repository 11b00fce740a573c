"""The demo project: an owner login, a fresh API key, and a few thousand realistic customers.

Idempotent: customers are upserted by source_id (a re-run changes and publishes nothing), and the
demo API key is rotated so that its token can be printed again.
"""

import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from campaigns.demo_loyalty import seed_loyalty
from campaigns.demo_promotions import seed_promotions
from campaigns.demo_redemptions import seed_redemptions
from campaigns.models import Campaign, CodeGenerationJob
from campaigns.services import campaign_create, code_generation_run
from customers.bulk import apply_rows
from customers.models import Customer, CustomEvent, EventDefinition, Order
from customers.orders import refresh_orders_summary
from distributions.demo import seed_distributions
from eventbus.models import DomainEvent
from messaging.email.demo import seed_email
from messaging.providers import seed_providers
from segments.demo import seed_segments
from tenancy.ids import new_public_id
from tenancy.models import ApiKey, Membership, Project, Role
from tenancy.services import api_key_create, api_key_revoke, project_create, user_get_or_create
from webhooks_out.services import seed_webhooks

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-owner-password"  # noqa: S105  (a printed demo login, not a secret)
DEMO_KEY_NAME = "Demo key"

FIRST_NAMES = (
    "Ada Alan Grace Linus Margaret Ken Barbara Dennis Frances Edsger Hedy Tim Radia Guido Anita".split()
)
LAST_NAMES = (
    "Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Ritchie Allen Dijkstra Lamarr "
    "Berners-Lee Perlman Rossum Borg"
).split()
CITIES = [
    ("Warsaw", "PL", "00-001"),
    ("Berlin", "DE", "10115"),
    ("Paris", "FR", "75001"),
    ("Madrid", "ES", "28001"),
    ("London", "GB", "SW1A"),
    ("New York", "US", "10001"),
    ("Austin", "US", "73301"),
    ("Lisbon", "PT", "1000-001"),
]
TIERS = ["Bronze", "Silver", "Gold", "Platinum"]


def demo_customers(count: int) -> list[dict]:
    rng = random.Random(20261125)
    rows = []
    for number in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, country, postal = rng.choice(CITIES)
        rows.append(
            {
                "source_id": f"demo-customer-{number:05d}",
                "name": f"{first} {last}",
                "email": f"{first}.{last}.{number}@demo.example".lower(),
                "phone": f"+4860{number:07d}" if rng.random() < 0.7 else None,
                "birthdate": f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "address": {"city": city, "country": country, "postal_code": postal},
                "metadata": {
                    "club_level": rng.choice(TIERS),
                    "newsletter": rng.random() < 0.6,
                    "favourite_category": rng.choice(["shoes", "books", "coffee", "garden", "games"]),
                    "lifetime_orders": rng.randint(0, 40),
                },
                "description": None,
            }
        )
    return rows


CUSTOM_EVENT_NAMES = ["viewed_product", "cart_abandoned", "newsletter_signup", "app_installed"]


@transaction.atomic
def seed_history(project: Project) -> tuple[int, int]:
    """Past orders and custom events for the demo customers, as history: inserted in bulk, keyed
    by deterministic ids so a re-run adds nothing, and publishing no events (they happened before)."""
    rng = random.Random(20261126)
    customers = list(
        Customer.objects.for_project(project)
        .filter(source_id__startswith="demo-customer-")
        .order_by("source_id")
    )
    now = timezone.now()
    orders, custom_events = [], []
    for customer in customers:
        for number in range(rng.choice([0, 0, 1, 1, 2, 3])):
            quantity, price = rng.randint(1, 4), rng.choice([1299, 2499, 4999, 8900])
            created_at = now - timedelta(days=rng.randint(1, 365), minutes=rng.randint(0, 1440))
            orders.append(
                Order(
                    project=project,
                    public_id=f"ord_demo{customer.pk:08d}{number:02d}",
                    source_id=f"demo-order-{customer.source_id.removeprefix('demo-customer-')}-{number}",
                    status=rng.choice(
                        [Order.Status.PAID, Order.Status.PAID, Order.Status.FULFILLED, Order.Status.CANCELED]
                    ),
                    amount=quantity * price,
                    initial_amount=quantity * price,
                    items=[
                        {
                            "source_id": f"sku-{price}",
                            "related_object": "sku",
                            "quantity": quantity,
                            "price": price,
                            "amount": quantity * price,
                        }
                    ],
                    customer=customer,
                    created_at=created_at,
                )
            )
        for number in range(rng.choice([0, 1, 2])):
            custom_events.append(
                CustomEvent(
                    project=project,
                    public_id=f"evcus_demo{customer.pk:08d}{number:02d}",
                    name=rng.choice(CUSTOM_EVENT_NAMES),
                    customer=customer,
                    created_at=now - timedelta(days=rng.randint(0, 90)),
                )
            )
    orders_before = Order.objects.for_project(project).count()
    events_before = CustomEvent.objects.for_project(project).count()
    Order.objects.bulk_create(orders, ignore_conflicts=True, batch_size=2000)
    CustomEvent.objects.bulk_create(custom_events, ignore_conflicts=True, batch_size=2000)
    EventDefinition.objects.bulk_create(
        [EventDefinition(project=project, name=name) for name in CUSTOM_EVENT_NAMES], ignore_conflicts=True
    )
    refresh_orders_summary(project, {customer.pk for customer in customers})
    return (
        Order.objects.for_project(project).count() - orders_before,
        CustomEvent.objects.for_project(project).count() - events_before,
    )


DEMO_CAMPAIGNS = [
    {
        "name": "Welcome 10% off",
        "description": "A unique 10% code for every new customer.",
        "campaign_type": "DISCOUNT_COUPONS",
        "type": "AUTO_UPDATE",
        "voucher": {
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"},
            "redemption": {"quantity": 1},
            "code_config": {"pattern": "WELCOME-######", "charset": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"},
        },
        "codes": 10_000,
    },
    {
        "name": "Gift cards $25",
        "description": "Gift cards worth $25.",
        "campaign_type": "GIFT_VOUCHERS",
        "type": "STATIC",
        "voucher": {
            "type": "GIFT_VOUCHER",
            "gift": {"amount": 2500, "effect": "APPLY_TO_ORDER"},
            "code_config": {"pattern": "GIFT-####-####", "charset": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"},
        },
        "codes": 500,
    },
]


def seed_campaigns(project: Project) -> list[str]:
    """The demo's campaigns with their codes, generated here (not by a worker) so the demo is ready
    when the run command prints its login. A campaign that exists already is left as it is."""
    created = []
    for spec in DEMO_CAMPAIGNS:
        if Campaign.objects.for_project(project).filter(name=spec["name"]).exists():
            continue
        fields = {key: value for key, value in spec.items() if key != "codes"}
        with transaction.atomic():
            campaign = campaign_create(project=project, fields=fields)
            job = CodeGenerationJob.objects.create(
                project=project, public_id=new_public_id("aa", 24), campaign=campaign, requested=spec["codes"]
            )
        code_generation_run(job=job)
        created.append(f"{spec['name']} ({spec['codes']} codes)")
    return created


def complete_backfilled_events(project: Project, *, since) -> int:
    """The seeded history is a backfill, as if imported: its events are recorded but no trigger,
    distribution or earning rule reacts to them (segments and loyalty balances are seeded directly).
    Without this a fresh demo's worker would spend its first minutes replaying thousands of events."""
    return (
        DomainEvent.objects.for_project(project)
        .filter(created_at__gte=since, completed_at__isnull=True)
        .update(completed_at=timezone.now())
    )


class Command(BaseCommand):
    help = "Create or refresh the demo project and print its login and API keys."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=3000)

    def handle(self, *args, customers, **options):
        seeding_started = timezone.now()
        with transaction.atomic():
            owner, _ = user_get_or_create(email=DEMO_EMAIL, password=DEMO_PASSWORD)
            owner.set_password(DEMO_PASSWORD)
            owner.is_staff = owner.is_superuser = True
            owner.save()
            project = Project.objects.filter(slug=DEMO_SLUG).first()
            if project is None:
                project = project_create(
                    name="Demo Shop",
                    owner=owner,
                    slug=DEMO_SLUG,
                    plan=Project.Plan.STANDARD,
                    company_name="Demo Shop Ltd.",
                    company_address="1 Market Square, 00-001 Warsaw, Poland",
                    message_limit_per_day=None,
                    message_limit_per_month=None,
                    allow_private_webhook_targets=True,
                )
            Membership.objects.get_or_create(project=project, user=owner, defaults={"role": Role.OWNER})
            for old_key in ApiKey.objects.filter(
                project=project, name=DEMO_KEY_NAME, revoked_at__isnull=True
            ):
                api_key_revoke(project=project, api_key=old_key)
            api_key, token = api_key_create(project=project, name=DEMO_KEY_NAME)
        created, updated = apply_rows(project=project, rows=demo_customers(customers))
        orders_created, events_created = seed_history(project)
        campaigns_created = seed_campaigns(project)
        seed_promotions(project)
        loyalty = seed_loyalty(project)
        segments = seed_segments(project)
        redemptions = seed_redemptions(project)
        backfilled = complete_backfilled_events(project, since=seeding_started)
        seed_webhooks(project)
        seed_providers(project)
        seed_email(project)
        distributions = seed_distributions(project)
        self.stdout.write(f"Demo project: {project.name} (slug {project.slug})")
        self.stdout.write(f"Customers: {created} created, {updated} updated")
        self.stdout.write(f"History: {orders_created} orders and {events_created} custom events added")
        self.stdout.write(f"Campaigns added: {', '.join(campaigns_created) or 'none'}")
        self.stdout.write(f"Loyalty: {loyalty}")
        self.stdout.write(
            "Segments: " + ", ".join(f"{segment.name} ({segment.member_count})" for segment in segments)
        )
        self.stdout.write(f"Redemptions and referrals: {redemptions}")
        self.stdout.write(f"Events of the seeded history (no trigger reacts to them): {backfilled}")
        self.stdout.write(f"Distributions: {', '.join(d.name for d in distributions)}")
        self.stdout.write(f"Login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"X-App-Id: {api_key.app_id}")
        self.stdout.write(f"X-App-Token: {token}")
