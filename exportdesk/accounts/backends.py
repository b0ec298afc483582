from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from exportdesk.accounts.models import User, normalise_email


class EmailBackend(ModelBackend):
    """Sign in with e-mail; a customer must have verified the address first."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = kwargs.get("email") or username
        if not email or password is None:
            return None
        try:
            user = User.objects.get(email=normalise_email(email))
        except User.DoesNotExist:
            # Spend the same time as a real check so timing does not reveal registered addresses.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
