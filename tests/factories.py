"""Test data: customers and staff as the exporter has them."""

from __future__ import annotations

import factory
import pyotp
from django.utils import timezone

from exportdesk.accounts.models import CustomerProfile, StaffTOTPDevice, User
from exportdesk.accounts.roles import roles_ensure

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class CustomerProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerProfile

    user = factory.SubFactory(UserFactory)
    country = "KE"
    company = "Kamau Motors Ltd"
    phone = "+254 712 345678"
    adult_attested_at = factory.LazyFunction(timezone.now)


def customer(email: str, country: str = "KE", **kwargs: object) -> User:
    user = UserFactory(email=email, **kwargs)
    CustomerProfileFactory(user=user, country=country)
    return user


def staff(email: str, role: str) -> User:
    """A staff member with the role and an enrolled authenticator."""
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(roles_ensure()[role])
    StaffTOTPDevice.objects.create(
        user=user, secret=pyotp.random_base32(), confirmed_at=timezone.now()
    )
    return user


def totp_now(user: User) -> str:
    return pyotp.TOTP(user.totp_device.secret).now()
