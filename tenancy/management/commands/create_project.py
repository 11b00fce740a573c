from django.core.management.base import BaseCommand

from tenancy.services import api_key_create, project_create, user_get_or_create


class Command(BaseCommand):
    help = "Create a project with an owner (created if new) and a first API key."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="The owner's email; also their login.")
        parser.add_argument(
            "--password", help="Password for a new owner; without it the owner must reset it."
        )
        parser.add_argument("--plan", default="trial", choices=["trial", "standard", "enterprise"])

    def handle(self, *args, name, owner, password, plan, **options):
        user, created = user_get_or_create(email=owner, password=password)
        project = project_create(name=name, owner=user, plan=plan)
        api_key, token = api_key_create(project=project, name="Default")
        self.stdout.write(f"Project: {project.name} (slug {project.slug}, id {project.public_id})")
        self.stdout.write(f"Owner: {owner}{' (new user)' if created else ''}")
        self.stdout.write(f"X-App-Id: {api_key.app_id}")
        self.stdout.write(f"X-App-Token: {token}")
