from django.http import HttpRequest

from exportdesk.accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """The request type of views behind login_required: `user` is a real User."""

    user: User


def staff_of(request: HttpRequest) -> User:
    """The signed-in staff member of a view behind `staff_required`."""
    assert isinstance(request.user, User)
    return request.user
