from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from exportdesk.accounts.http import AuthenticatedRequest
from exportdesk.messaging.selectors import contact_history_for


@login_required
def contact_history(request: AuthenticatedRequest) -> HttpResponse:
    page = Paginator(contact_history_for(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "messaging/contact_history.html", {"page": page})
