"""factory-boy factories for the rows every test needs."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from customers.models import Customer
from tenancy.ids import new_public_id
from tenancy.models import ApiKey, Membership, Project, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.django.Password("correct horse battery staple")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    plan = Project.Plan.STANDARD
    message_limit_per_day = None
    message_limit_per_month = None


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    project = factory.SubFactory(ProjectFactory)
    public_id = factory.LazyFunction(lambda: new_public_id("cust", 24))
    source_id = factory.Sequence(lambda n: f"customer-{n}")
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    metadata = factory.LazyFunction(dict)


def make_api_key(project: Project, name: str = "Test key") -> tuple[ApiKey, str]:
    api_key, token = ApiKey.generate(project=project, name=name)
    api_key.save()
    return api_key, token
