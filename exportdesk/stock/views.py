"""Public stock pages: search, vehicle with price to port and rules, favourites, photos."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_countries import countries

from exportdesk.accounts.http import AuthenticatedRequest
from exportdesk.stock.destination import Destination, destination_for, destination_remember
from exportdesk.stock.favourites import (
    favourite_ids,
    favourite_toggle,
    functional_allowed,
    visitor_favourite_ids,
)
from exportdesk.stock.models import (
    Favourite,
    FreightRate,
    Port,
    ShippingMethod,
    Vehicle,
    VehiclePhoto,
)
from exportdesk.stock.pricing import (
    DISPLAY_CURRENCIES,
    NoFreightRate,
    convert,
    latest_rate,
    price_to_port,
)
from exportdesk.stock.rules import rules_for, verdict_for
from exportdesk.stock.search import (
    Reference,
    StockSearchForm,
    cards_html,
    filter_panel_html,
    public_vehicles,
    stock_search,
    vehicles_for_rules,
)

PHOTO_CACHE_SECONDS = 7 * 24 * 60 * 60


def _destination_countries() -> list[tuple[str, str]]:
    codes = sorted(set(Port.objects.values_list("country", flat=True)))
    return sorted(((c, str(countries.name(c))) for c in codes), key=lambda pair: pair[1])


def search(request: HttpRequest) -> HttpResponse:
    # Make and model names: for keywords, the cards and the filter panel.
    reference = Reference.load()
    result = stock_search(request.GET, reference)
    page = result.page
    destination = destination_for(request)
    verdicts = {}
    allowed_text = ""
    if destination.port is not None:
        rules = rules_for(destination.country)
        verdicts = {
            v.pk: verdict_for(v, destination.country, rules) for v in vehicles_for_rules(page.rows)
        }
        allowed_text = _("Can go to %(country)s") % {"country": destination.port.country.name}
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    cards = ""
    if page.rows:
        cards = cards_html(
            page.rows,
            reference=reference,
            favourites=favourite_ids(request),
            verdicts=verdicts,
            allowed_text=allowed_text,
            csrf_token=get_token(request),
            here=request.get_full_path(),
        )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "result": result,
        "form": result.form,
        "page": page,
        "problems": result.problems,
        "querystring": query.urlencode(),
        "cards_html": cards,
        "destination": destination,
        "widen": _widen_links(request, result.form) if not page.count else [],
    }
    if partial:
        return render(request, "stock/_results.html", context)
    panel = filter_panel_html(result.form, reference)
    return render(request, "stock/search.html", {**context, "panel_html": panel})


def _widen_links(request: HttpRequest, form: StockSearchForm) -> list[tuple[str, str]]:
    """For an empty result: one link per active filter, each dropping just that filter, named
    as the visitor chose it ("Make: Toyota", "Fuel: Hybrid")."""
    links = []
    cleaned = getattr(form, "cleaned_data", {})
    for name in request.GET:
        raw = request.GET.get(name, "")
        if name in ("page", "sort", "per_page") or not raw or name not in form.fields:
            continue
        field = form.fields[name]
        value = cleaned.get(name)
        if isinstance(field, forms.ModelChoiceField) and value is not None:
            shown = str(value)
        elif isinstance(field, forms.ChoiceField):
            shown = str(dict(field.choices).get(raw, raw))  # type: ignore[arg-type]
        else:
            shown = raw
        query = request.GET.copy()
        del query[name]
        links.append((f"{field.label}: {shown}", f"?{query.urlencode()}"))
    return links


def _chosen_destination(
    request: HttpRequest, current: Destination
) -> tuple[Destination, list[str]]:
    """Read the destination picker's fields; bad values give a message and keep the old choice."""
    problems: list[str] = []
    code = request.GET.get("port", "").strip()
    method = request.GET.get("method") or current.method
    currency = request.GET.get("currency") or current.currency
    if method not in ShippingMethod.values:
        problems.append(_("Unknown shipping method."))
        method = current.method
    if currency not in DISPLAY_CURRENCIES:
        problems.append(_("Unknown currency."))
        currency = current.currency
    port = current.port
    if code:
        port = Port.objects.filter(pk=int(code)).first() if code.isdigit() else None
        if port is None:
            problems.append(_("We do not know that port; please choose one from the list."))
            port = current.port
    return Destination(port, method, currency), problems


def vehicle_detail(request: HttpRequest, stock_number: str) -> HttpResponse:
    vehicle = get_object_or_404(public_vehicles(), stock_number=stock_number)
    destination, problems = _chosen_destination(request, destination_for(request))
    country = request.GET.get("country", "").upper() or destination.country
    context: dict[str, Any] = {
        "vehicle": vehicle,
        "photos": vehicle.photo_list,  # type: ignore[attr-defined]
        "destination": destination,
        "problems": problems,
        "countries": _destination_countries(),
        "country": country,
        "ports": Port.objects.filter(country=country) if country else Port.objects.none(),
        "methods": ShippingMethod.choices,
        "currencies": DISPLAY_CURRENCIES,
        "is_favourite": vehicle.pk in favourite_ids(request),
    }
    if destination.port is not None:
        context.update(_price_context(vehicle, destination))
    response = render(request, "stock/vehicle.html", context)
    if destination.port is not None and not problems:
        destination_remember(request=request, response=response, destination=destination)
    return response


def _price_context(vehicle: Vehicle, destination: Destination) -> dict[str, Any]:
    assert destination.port is not None
    verdict = verdict_for(vehicle, destination.country, rules_for(destination.country))
    context: dict[str, Any] = {"verdict": verdict}
    freight = FreightRate.objects.filter(port=destination.port, method=destination.method).first()
    try:
        price = price_to_port(
            vehicle=vehicle,
            port=destination.port,
            method=destination.method,
            verdict=verdict,
            freight=freight,
        )
    except NoFreightRate:
        context["no_freight"] = True
        return context
    rate = latest_rate(destination.currency) if destination.currency != "JPY" else None
    context.update(
        {
            "price": price,
            "rate": rate,
            "converted": {
                "fob": convert(price.fob_jpy, rate),
                "cnf": convert(price.cnf_jpy, rate),
                "cif": convert(price.cif_jpy, rate),
            },
        }
    )
    return context


def ports_for_country(request: HttpRequest) -> HttpResponse:
    """htmx: the <option>s of the port select for a country."""
    country = request.GET.get("country", "").upper()[:2]
    return render(
        request, "stock/_port_options.html", {"ports": Port.objects.filter(country=country)}
    )


@require_POST
def favourite(request: HttpRequest, stock_number: str) -> HttpResponse:
    vehicle = get_object_or_404(public_vehicles(), stock_number=stock_number)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("stock:vehicle", args=[vehicle.stock_number])
    response = HttpResponseRedirect(target)
    added = favourite_toggle(request=request, response=response, vehicle=vehicle)
    if added:
        messages.success(request, _("Added to your favourites."))
    else:
        messages.info(request, _("Removed from your favourites."))
    return response


def visitor_favourites(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(reverse("stock:my_favourites"))
    ids = visitor_favourite_ids(request)
    vehicles = {v.pk: v for v in public_vehicles().filter(pk__in=ids)}
    return render(
        request,
        "stock/visitor_favourites.html",
        {
            "vehicles": [vehicles[i] for i in ids if i in vehicles],
            "functional_allowed": functional_allowed(request),
        },
    )


@login_required
def my_favourites(request: AuthenticatedRequest) -> HttpResponse:
    favourites = (
        Favourite.objects.filter(user=request.user)
        .select_related("vehicle__make", "vehicle__model")
        .order_by("-added_at", "-id")
    )
    return render(request, "stock/my_favourites.html", {"favourites": favourites})


def photo(request: HttpRequest, pk: int, size: str) -> FileResponse:
    """Stock photos come from private storage: only for cars on sale (or for staff)."""
    item = get_object_or_404(VehiclePhoto.objects.select_related("vehicle"), pk=pk)
    if not (item.vehicle.is_public or request.user.is_staff):
        raise Http404
    field = item.thumbnail if size == "thumb" and item.thumbnail else item.image
    if size not in ("thumb", "full") or not field:
        raise Http404
    response = FileResponse(field.open("rb"))
    response["Cache-Control"] = f"public, max-age={PHOTO_CACHE_SECONDS}"
    return response
