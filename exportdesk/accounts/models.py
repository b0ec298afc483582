"""Users (e-mail login), customer profiles, security events and the staff second factor."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=normalise_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("email_verified_at", timezone.now())
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalise_email(username or ""))


def normalise_email(email: str) -> str:
    """One address, one account: compare e-mail addresses case-insensitively."""
    return email.strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("name"), max_length=150)
    is_staff = models.BooleanField(default=False, help_text="Staff of the exporter")
    is_active = models.BooleanField(default=True, help_text="False once the account is closed")
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="Preferred site language")
    closed_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When the closed account's personal data was erased"
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        permissions = [
            ("access_backoffice", "Can open the back office"),
            ("view_customer_data", "Can view customers' personal data in the back office"),
            ("use_django_admin", "Can use the Django admin"),
            ("sales_desk", "Works the sales desk"),
            ("accounting_desk", "Works the accounting desk"),
            ("logistics_desk", "Works the logistics desk"),
            ("compliance_desk", "Works the compliance desk"),
            ("privacy_desk", "Works the privacy desk"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def customer_number(self) -> str:
        """What customers quote on transfers and calls: "C000042"."""
        return f"C{self.pk:06d}"

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ()\-]{5,24}$",
    _("Enter a phone number with country code, e.g. +254 712 345678."),
)


class CustomerProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="customer_profile")
    country = CountryField(_("country of residence"))
    company = models.CharField(_("company"), max_length=200, blank=True)
    address = models.TextField(_("address"), max_length=500, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[phone_validator])
    whatsapp = models.CharField(
        _("WhatsApp"), max_length=32, blank=True, validators=[phone_validator]
    )
    fax = models.CharField(_("fax"), max_length=32, blank=True, validators=[phone_validator])
    adult_attested_at = models.DateTimeField(help_text="When the person attested to being an adult")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.user_id}"


class SecurityEvent(models.Model):
    """Sign-ins and credential changes, with IP and user agent; purged after the retention period."""

    class Kind(models.TextChoices):
        LOGIN = "login", "Signed in"
        LOGIN_FAILED = "login_failed", "Failed sign-in"
        LOGIN_THROTTLED = "login_throttled", "Sign-in refused: too many failures"
        LOGOUT = "logout", "Signed out"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
        PASSWORD_RESET = "password_reset", "Password reset"
        EMAIL_VERIFIED = "email_verified", "E-mail verified"
        EMAIL_CHANGED = "email_changed", "E-mail changed"
        OTP_ENROLLED = "otp_enrolled", "Second factor enrolled"
        OTP_VERIFIED = "otp_verified", "Second factor verified"
        OTP_FAILED = "otp_failed", "Second factor failed"
        ACCOUNT_CLOSED = "account_closed", "Account closed"

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="security_events"
    )
    email_tried = models.CharField(max_length=254, blank=True, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    user_agent = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.email_tried} {self.created_at:%Y-%m-%d %H:%M}"


class StaffTOTPDevice(models.Model):
    """The authenticator app a staff member enrolled (RFC 6238, 30-second steps)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # A code is accepted once: the last time step used is remembered to refuse a replay.
    last_used_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"TOTP device of {self.user_id}"
