from decimal import Decimal

from django import template

from exportdesk.core.money import UnknownCurrency, money_format

register = template.Library()


@register.filter
def money(amount: Decimal | int | None, currency: str) -> str:
    """`{{ total|money:"USD" }}` → "USD 1,234.50"."""
    if amount is None:
        return ""
    try:
        return money_format(Decimal(amount), currency)
    except UnknownCurrency:
        return f"{currency} {amount}"
