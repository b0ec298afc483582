from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


def stock_placeholder(request: HttpRequest) -> HttpResponse:
    """The stock catalogue is the next part to be built; until then the link explains itself."""
    return render(request, "core/stock_placeholder.html")
