"""The back-office shell: second factor, dashboard, customers, and each desk's landing page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exportdesk.accounts.forms import OTPForm
from exportdesk.accounts.models import SecurityEvent, User
from exportdesk.accounts.otp import (
    otp_mark_verified,
    staff_required,
    totp_check,
    totp_device_for,
    totp_provisioning_uri,
    totp_qr_svg,
)
from exportdesk.accounts.services import security_event_record
from exportdesk.core.audit import audit_event_record
from exportdesk.core.http import client_ip

# Desk landing pages that later parts fill; each needs its role's permission.
DESKS = {
    "sales": ("accounts.sales_desk", gettext_lazy("Sales")),
    "accounting": ("accounts.accounting_desk", gettext_lazy("Accounting")),
    "logistics": ("accounts.logistics_desk", gettext_lazy("Logistics")),
    "compliance": ("accounts.compliance_desk", gettext_lazy("Compliance")),
    "privacy": ("accounts.privacy_desk", gettext_lazy("Privacy")),
}


@login_required
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator (first time) or check its code; staff only."""
    user = request.user
    if not user.is_staff:
        raise PermissionDenied
    device = totp_device_for(user)
    enrolling = device.confirmed_at is None
    form = OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp_check(device=device, code=form.cleaned_data["code"]):
            if enrolling:
                device.confirmed_at = timezone.now()
                device.save(update_fields=["confirmed_at"])
                security_event_record(
                    kind=SecurityEvent.Kind.OTP_ENROLLED, request=request, user=user
                )
            security_event_record(kind=SecurityEvent.Kind.OTP_VERIFIED, request=request, user=user)
            otp_mark_verified(request)
            target = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = reverse("backoffice:home")
            return HttpResponseRedirect(target)
        security_event_record(kind=SecurityEvent.Kind.OTP_FAILED, request=request, user=user)
        form.add_error(
            "code", _("That code is not valid. Check your device's clock and try again.")
        )
    context = {"form": form, "enrolling": enrolling}
    if enrolling:
        uri = totp_provisioning_uri(device)
        context.update({"qr_svg": totp_qr_svg(uri), "secret": device.secret})
    status = 400 if request.method == "POST" else 200
    return render(request, "backoffice/otp.html", context, status=status)


@staff_required()
def home(request: HttpRequest) -> HttpResponse:
    desks = [
        {"slug": slug, "title": title}
        for slug, (perm, title) in DESKS.items()
        if request.user.has_perm(perm)
    ]
    roles = list(request.user.groups.values_list("name", flat=True))
    return render(request, "backoffice/home.html", {"desks": desks, "roles": roles})


@staff_required()
def desk(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in DESKS:
        raise Http404
    perm, title = DESKS[slug]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    return render(request, "backoffice/desk.html", {"title": title, "slug": slug})


@staff_required("accounts.view_customer_data")
def customers(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    users = (
        User.objects.filter(is_staff=False)
        .select_related("customer_profile")
        .order_by("-date_joined")
    )
    if query:
        users = users.filter(Q(email__icontains=query) | Q(name__icontains=query))
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "backoffice/customers.html", {"page": page, "query": query})


@staff_required("accounts.view_customer_data")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(
        User.objects.select_related("customer_profile"), pk=pk, is_staff=False
    )
    # Staff looking at a customer's personal data is itself recorded (DESIGN.md §4).
    audit_event_record(
        action="customer.viewed",
        actor=request.user,
        obj=customer,
        subject_id=customer.pk,
        ip_address=client_ip(request),
    )
    profile = getattr(customer, "customer_profile", None)
    if customer.is_closed:
        messages.warning(request, _("This account is closed."))
    return render(
        request, "backoffice/customer_detail.html", {"customer": customer, "profile": profile}
    )
