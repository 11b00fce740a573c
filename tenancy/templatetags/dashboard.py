from django import template

register = template.Library()


@register.filter
def cents(value: int | None) -> str:
    """Integer cents as an amount with two decimals (the API keeps amounts in cents)."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(int(value)), 100)
    return f"{sign}{whole:,}.{fraction:02d}"
