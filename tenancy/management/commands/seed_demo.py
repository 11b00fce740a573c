"""The demo project: an owner login, a fresh API key, and a few thousand realistic customers.

Idempotent: customers are upserted by source_id (a re-run changes and publishes nothing), and the
demo API key is rotated so that its token can be printed again.
"""

import random

from django.core.management.base import BaseCommand
from django.db import transaction

from customers.bulk import apply_rows
from tenancy.models import ApiKey, Membership, Project, Role
from tenancy.services import api_key_create, api_key_revoke, project_create, user_get_or_create

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


class Command(BaseCommand):
    help = "Create or refresh the demo project and print its login and API keys."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=3000)

    def handle(self, *args, customers, **options):
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
        self.stdout.write(f"Demo project: {project.name} (slug {project.slug})")
        self.stdout.write(f"Customers: {created} created, {updated} updated")
        self.stdout.write(f"Login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"X-App-Id: {api_key.app_id}")
        self.stdout.write(f"X-App-Token: {token}")
