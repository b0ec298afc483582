"""`{% order_documents order as documents %}`: an order's documents as its customer sees them,
so `shipping/documents/_order_documents.html` works in any page that has an `order`."""

from __future__ import annotations

from typing import Any

from django import template

from exportdesk.sales.models import Order
from exportdesk.shipping.documents import DocumentView, document_rules, order_documents

register = template.Library()


@register.simple_tag(takes_context=True)
def order_documents_for(context: template.Context, order: Order) -> list[DocumentView]:
    # A page listing many orders reads the rules once and passes them as `document_rules`.
    rules: Any = context.get("document_rules")
    return order_documents(order, rules if isinstance(rules, dict) else document_rules())
