from django.http import HttpRequest

from exportdesk.accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """The request type of views behind login_required: `user` is a real User."""

    user: User
