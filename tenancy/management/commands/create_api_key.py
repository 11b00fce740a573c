from django.core.management.base import BaseCommand, CommandError

from tenancy.models import Project
from tenancy.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a project and print it (the token is shown only now)."

    def add_arguments(self, parser):
        parser.add_argument("project_slug")
        parser.add_argument("--name", default="Created from the command line")

    def handle(self, *args, project_slug, name, **options):
        project = Project.objects.filter(slug=project_slug).first()
        if project is None:
            raise CommandError(f"No project with slug {project_slug!r}.")
        api_key, token = api_key_create(project=project, name=name)
        self.stdout.write(f"X-App-Id: {api_key.app_id}")
        self.stdout.write(f"X-App-Token: {token}")
