"""`{% customer_consents_section customer current_project %}`: the customer page's consents."""

from django import template

from messaging.consent import customer_consents

register = template.Library()


@register.inclusion_tag("messaging/customer_consents.html")
def customer_consents_section(customer, project):
    return {"consents": customer_consents(project=project, customer=customer)}
