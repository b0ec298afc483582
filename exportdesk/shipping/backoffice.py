"""The logistics desk: the board, shipments and their bookings, steps, inspections, couriers.

Views validate input, call the services in `shipments` and `inspections`, and render; a refused
operation re-renders its page with the reason and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from exportdesk.accounts.http import staff_of
from exportdesk.accounts.otp import staff_required
from exportdesk.payments.selectors import orders_paid
from exportdesk.privacy.models import ProvisionRecord
from exportdesk.sales.models import Order
from exportdesk.shipping.forms_backoffice import (
    BoardFilterForm,
    CourierForm,
    InspectionBookForm,
    InspectionResultForm,
    OrderAddForm,
    ShipmentForm,
    StepForm,
    order_step_form,
    shipment_step_form,
)
from exportdesk.shipping.inspections import (
    certificate_content_type,
    inspection_book,
    inspection_requirements,
    inspection_result_record,
    inspections_missing,
    order_inspections,
)
from exportdesk.shipping.models import (
    CourierDispatch,
    ExportDocument,
    Inspection,
    OrderParties,
    Shipment,
    ShipmentOrder,
)
from exportdesk.shipping.parties import ShippingRefused
from exportdesk.shipping.shipments import (
    Status,
    board_rows,
    board_shipments,
    courier_dispatch_record,
    courier_dispatches,
    courier_documents,
    courier_mark_delivered,
    order_timeline,
    orders_disclosed,
    orders_eligible_for,
    orders_progress,
    shipment_book,
    shipment_create,
    shipment_order_add,
    shipment_order_remove,
    shipment_orders,
    shipment_timeline,
    shipment_update,
    timeline_event_record,
)

BOARD_PAGE_SIZE = 50


def _posted(request: HttpRequest) -> Any:
    # An empty POST is still a submission: its form must be bound to show what is missing.
    return request.POST if request.method == "POST" else None


def _shipment(reference: str) -> Shipment:
    return get_object_or_404(
        Shipment.objects.select_related(
            "port_of_discharge", "shipping_line", "forwarder", "customs_broker"
        ),
        reference=reference,
    )


def _order(number: str) -> Order:
    return get_object_or_404(
        Order.objects.select_related("customer__customer_profile", "proforma__port"),
        number=number,
    )


# --- The board ----------------------------------------------------------------------------------


@staff_required("shipping.view_shipment")
def board(request: HttpRequest) -> HttpResponse:
    filters = BoardFilterForm(request.GET or None)
    state, port_id = filters.chosen()
    page = Paginator(board_shipments(state=state, port_id=port_id), BOARD_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "shipping/backoffice/board.html",
        {
            "filters": filters,
            "page": page,
            "rows": board_rows(list(page.object_list)),
            "query": query.urlencode(),
        },
    )


# --- Shipments ----------------------------------------------------------------------------------


@staff_required("shipping.add_shipment")
def shipment_new(request: HttpRequest) -> HttpResponse:
    form = ShipmentForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            shipment = shipment_create(details=form.details(), actor=staff_of(request))
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request, _("Shipment %(reference)s created.") % {"reference": shipment.reference}
            )
            return redirect("shipping_backoffice:shipment", reference=shipment.reference)
    return render(
        request,
        "shipping/backoffice/shipment_form.html",
        {"form": form, "shipment": None},
        status=400 if form.errors else 200,
    )


@staff_required("shipping.change_shipment")
def shipment_edit(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = _shipment(reference)
    form = ShipmentForm(_posted(request), shipment=shipment)
    if request.method == "POST" and form.is_valid():
        try:
            shipment_update(shipment=shipment, details=form.details(), actor=staff_of(request))
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("Shipment saved."))
            return redirect("shipping_backoffice:shipment", reference=shipment.reference)
    return render(
        request,
        "shipping/backoffice/shipment_form.html",
        {"form": form, "shipment": shipment},
        status=400 if form.errors else 200,
    )


@staff_required("shipping.view_shipment")
def shipment_detail(request: HttpRequest, reference: str) -> HttpResponse:
    return _shipment_page(request, _shipment(reference))


def _shipment_page(
    request: HttpRequest,
    shipment: Shipment,
    *,
    add_form: OrderAddForm | None = None,
    step_form: StepForm | None = None,
    error: str = "",
) -> HttpResponse:
    orders = shipment_orders(shipment)
    ids = [o.pk for o in orders]
    paid, progress, missing = orders_paid(ids), orders_progress(ids), inspections_missing(orders)
    rows = [
        {
            "order": order,
            "paid": paid[order.pk],
            "parties": getattr(order, "parties", None),
            "progress": progress[order.pk],
            "missing": missing.get(order.pk, []),
        }
        for order in orders
    ]
    provisions = ProvisionRecord.objects.filter(
        context_type=Shipment._meta.label_lower, context_id=str(shipment.pk)
    ).count()
    context: dict[str, Any] = {
        "shipment": shipment,
        "rows": rows,
        "people": orders_disclosed(orders),
        "eligible": orders_eligible_for(shipment)[:100],
        "events": shipment_timeline(shipment),
        "provisions": provisions,
        "add_form": add_form or OrderAddForm(),
        "step_form": step_form or shipment_step_form(),
        "error": error,
        "loaded": shipment.status in (Status.LOADED, Status.SAILED, Status.ARRIVED),
    }
    bad = add_form is not None or step_form is not None or bool(error)
    return render(
        request, "shipping/backoffice/shipment_detail.html", context, status=400 if bad else 200
    )


@require_POST
@staff_required("shipping.change_shipment")
def shipment_order_add_view(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = _shipment(reference)
    form = OrderAddForm(request.POST)
    if form.is_valid():
        order = form.cleaned_data["order_number"]
        try:
            shipment_order_add(shipment=shipment, order=order, actor=staff_of(request))
        except ShippingRefused as refused:
            form.add_error("order_number", str(refused))
        else:
            messages.success(
                request,
                _("Order %(number)s added to %(reference)s.")
                % {"number": order.number, "reference": shipment.reference},
            )
            return redirect("shipping_backoffice:shipment", reference=shipment.reference)
    return _shipment_page(request, shipment, add_form=form)


@require_POST
@staff_required("shipping.change_shipment")
def shipment_order_remove_view(request: HttpRequest, reference: str, number: str) -> HttpResponse:
    shipment = _shipment(reference)
    order = _order(number)
    try:
        shipment_order_remove(shipment=shipment, order=order, actor=staff_of(request))
    except ShippingRefused as refused:
        return _shipment_page(request, shipment, error=str(refused))
    messages.success(
        request,
        _("Order %(number)s removed from %(reference)s.")
        % {"number": order.number, "reference": shipment.reference},
    )
    return redirect("shipping_backoffice:shipment", reference=shipment.reference)


@require_POST
@staff_required("shipping.change_shipment")
def shipment_book_view(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = _shipment(reference)
    try:
        records = shipment_book(shipment=shipment, actor=staff_of(request))
    except ShippingRefused as refused:
        return _shipment_page(request, shipment, error=str(refused))
    messages.success(
        request,
        ngettext(
            "%(reference)s booked; %(count)s record of provision written.",
            "%(reference)s booked; %(count)s records of provision written.",
            len(records),
        )
        % {"reference": shipment.reference, "count": len(records)},
    )
    return redirect("shipping_backoffice:shipment", reference=shipment.reference)


def _step_recorded(
    request: HttpRequest,
    form: StepForm,
    *,
    shipment: Shipment | None = None,
    order: Order | None = None,
) -> bool:
    """Record the step the form describes, with a success message naming it; False, with the
    refusal on the form, when it is not recorded."""
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        timeline_event_record(
            shipment=shipment,
            order=order,
            status=data["status"],
            happened_at=data["happened_at"],
            note=data["note"],
            actor=staff_of(request),
        )
    except ShippingRefused as refused:
        form.add_error(None, str(refused))
        return False
    name = shipment.reference if shipment is not None else order.number if order else ""
    messages.success(
        request,
        _("%(name)s: %(step)s recorded.") % {"name": name, "step": Status(data["status"]).label},
    )
    return True


@require_POST
@staff_required("shipping.add_timelineevent")
def shipment_step(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = _shipment(reference)
    form = shipment_step_form(request.POST)
    if _step_recorded(request, form, shipment=shipment):
        return redirect("shipping_backoffice:shipment", reference=shipment.reference)
    return _shipment_page(request, shipment, step_form=form)


# --- Orders -------------------------------------------------------------------------------------


@staff_required("shipping.view_shipment")
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _order_page(request, _order(number))


def _order_page(
    request: HttpRequest, order: Order, *, step_form: StepForm | None = None
) -> HttpResponse:
    states, inspections = order_inspections(order)
    item = ShipmentOrder.objects.filter(order=order).select_related("shipment").first()
    dispatches = list(courier_dispatches(order))
    context: dict[str, Any] = {
        "order": order,
        "parties": OrderParties.objects.filter(order=order)
        .select_related("consignee", "notify")
        .first(),
        "shipment": item.shipment if item else None,
        "paid": orders_paid([order.pk])[order.pk],
        "requirements": states,
        "inspections": inspections,
        "events": order_timeline(order),
        "dispatches": [(d, courier_documents(d)) for d in dispatches],
        "documents": ExportDocument.objects.filter(order=order).order_by("kind", "-uploaded_at"),
        "step_form": step_form or order_step_form(),
    }
    return render(
        request,
        "shipping/backoffice/order_detail.html",
        context,
        status=400 if step_form is not None else 200,
    )


@require_POST
@staff_required("shipping.add_timelineevent")
def order_step(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    form = order_step_form(request.POST)
    if _step_recorded(request, form, order=order):
        return redirect("shipping_backoffice:order", number=order.number)
    return _order_page(request, order, step_form=form)


# --- Inspections --------------------------------------------------------------------------------


@staff_required("shipping.add_inspection")
def inspection_new(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    requirements = inspection_requirements(order)
    initial = {"kind": requirements[0].kind} if requirements else {}
    form = InspectionBookForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            inspection_book(
                order=order,
                agency=data["agency"],
                kind=data["kind"],
                booked_for=data["booked_for"],
                actor=staff_of(request),
            )
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request,
                _("Inspection booked with %(agency)s; record of provision written.")
                % {"agency": data["agency"].name},
            )
            return redirect("shipping_backoffice:order", number=order.number)
    return render(
        request,
        "shipping/backoffice/inspection_form.html",
        {"form": form, "order": order, "requirements": requirements},
        status=400 if form.errors else 200,
    )


def _inspection(pk: int) -> Inspection:
    return get_object_or_404(Inspection.objects.select_related("order__customer", "agency"), pk=pk)


@staff_required("shipping.change_inspection")
def inspection_result(request: HttpRequest, pk: int) -> HttpResponse:
    inspection = _inspection(pk)
    form = InspectionResultForm(_posted(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            inspection_result_record(
                inspection=inspection,
                passed=data["result"] == Inspection.Result.PASSED,
                certificate=data["certificate"],
                certificate_number=data["certificate_number"],
                result_at=data["result_at"],
                actor=staff_of(request),
            )
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("Inspection result recorded."))
            return redirect("shipping_backoffice:order", number=inspection.order.number)
    return render(
        request,
        "shipping/backoffice/inspection_result.html",
        {"form": form, "inspection": inspection},
        status=400 if form.errors else 200,
    )


# staff_required is typed for HttpResponse; the streamed FileResponse passes through it unchanged.
@staff_required("shipping.view_inspection")  # type: ignore[arg-type]
def inspection_certificate(request: HttpRequest, pk: int) -> FileResponse:
    inspection = _inspection(pk)
    if not inspection.certificate:
        raise Http404
    response = FileResponse(
        inspection.certificate.open("rb"), content_type=certificate_content_type(inspection)
    )
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Couriers -----------------------------------------------------------------------------------


@staff_required("shipping.add_courierdispatch")
def courier_new(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    form = CourierForm(_posted(request), order=order)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            courier_dispatch_record(
                order=order,
                courier=data["carrier"],
                tracking_number=data["tracking_number"],
                documents=data["documents"],
                addressed_to=data["addressed_to"],
                dispatched_at=data["dispatched_at"],
                actor=staff_of(request),
            )
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request, _("Dispatch recorded; the customer is told the tracking number.")
            )
            return redirect("shipping_backoffice:order", number=order.number)
    return render(
        request,
        "shipping/backoffice/courier_form.html",
        {"form": form, "order": order},
        status=400 if form.errors else 200,
    )


@require_POST
@staff_required("shipping.change_courierdispatch")
def courier_delivered(request: HttpRequest, pk: int) -> HttpResponse:
    dispatch = get_object_or_404(CourierDispatch.objects.select_related("order"), pk=pk)
    try:
        courier_mark_delivered(dispatch=dispatch, actor=staff_of(request))
    except ShippingRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Originals marked delivered."))
    return redirect("shipping_backoffice:order", number=dispatch.order.number)
