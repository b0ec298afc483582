"""Consent ledger and privacy-policy versions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from exportdesk.core.models import AppendOnlyModel


class CookieCategory(models.TextChoices):
    NECESSARY = "necessary", _("Strictly necessary")
    FUNCTIONAL = "functional", _("Functional")
    STATISTICS = "statistics", _("Statistics")
    MARKETING = "marketing", _("Marketing")


# Categories a person can refuse; necessary cookies cannot be switched off.
OPTIONAL_CATEGORIES = (
    CookieCategory.FUNCTIONAL,
    CookieCategory.STATISTICS,
    CookieCategory.MARKETING,
)


class PolicyVersion(models.Model):
    """A published version of the privacy policy; the newest effective one is in force."""

    version = models.CharField(max_length=20, unique=True)
    effective_date = models.DateField()
    summary_of_changes = models.TextField(blank=True)
    body = models.TextField(help_text="The policy text (paragraphs separated by blank lines)")
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_date", "-pk"]

    def __str__(self) -> str:
        return f"Privacy policy {self.version} (effective {self.effective_date})"


class ConsentRecord(AppendOnlyModel):
    """One choice about one purpose; the newest row per purpose is the person's current choice."""

    class Source(models.TextChoices):
        BANNER = "banner", "Cookie banner"
        SETTINGS = "settings", "Cookie settings page"
        PRIVACY_CENTRE = "privacy_centre", "Privacy centre"
        GPC = "gpc", "Global Privacy Control signal"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_records",
    )
    visitor_id = models.UUIDField(null=True, blank=True, db_index=True)
    purpose = models.CharField(max_length=32, choices=CookieCategory.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=20, choices=Source.choices)
    policy_version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(visitor_id__isnull=False),
                name="consent_has_a_subject",
            )
        ]

    def __str__(self) -> str:
        state = "granted" if self.granted else "refused"
        return f"{self.purpose} {state} at {self.created_at:%Y-%m-%d %H:%M}"


class PolicyAcknowledgement(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_acknowledgements"
    )
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "policy_version"], name="one_ack_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} acknowledged {self.policy_version_id}"


def new_visitor_id() -> uuid.UUID:
    return uuid.uuid4()


# --- data-subject requests ----------------------------------------------------------------------


class DataRequest(models.Model):
    """A person asking to exercise a right over their data (APPI Art. 33-35, GDPR Art. 15-22).

    The person is identified by `email` (verified by a one-time link for the public form, or by
    the signed-in account) and, when they have one, by `user`.
    """

    class Kind(models.TextChoices):
        ACCESS = "access", _("See a copy of my data")
        PORTABILITY = "portability", _("Download my data to take elsewhere")
        RECTIFICATION = "rectification", _("Correct my data")
        ERASURE = "erasure", _("Delete my account and data")
        RESTRICTION = "restriction", _("Restrict the use of my data")
        OBJECTION = "objection", _("Object to marketing or analytics")
        CONSENT_WITHDRAWAL = "consent_withdrawal", _("Withdraw my consent")
        PROVISION_RECORDS = "provision_records", _("Tell me who received my data")

    class State(models.TextChoices):
        UNVERIFIED = "unverified", _("Waiting for e-mail confirmation")
        RECEIVED = "received", _("Received")
        VERIFYING = "verifying", _("Verifying identity")
        IN_PROGRESS = "in_progress", _("In progress")
        EXTENDED = "extended", _("Extended")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired without confirmation")

    class Channel(models.TextChoices):
        MYPAGE = "mypage", _("My Page")
        PUBLIC_FORM = "public_form", _("Public form")
        STAFF = "staff", _("Recorded by staff")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, db_index=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_requests",
    )
    email = models.EmailField(db_index=True)
    name = models.CharField(max_length=150, blank=True)
    details = models.TextField(blank=True, help_text="What the person asked for, in their words")
    language = models.CharField(max_length=8, blank=True)
    received_at = models.DateTimeField()
    # Only a hash of the one-time e-mail link is kept, so a database reader cannot confirm it.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    identity_proof_required = models.BooleanField(default=False)
    identity_proof_note = models.TextField(blank=True)
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.TextField(blank=True, help_text="What was done, and what was kept and why")
    rejection_reason = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_7_at = models.DateTimeField(null=True, blank=True)
    reminded_2_at = models.DateTimeField(null=True, blank=True)

    OPEN_STATES = (State.RECEIVED, State.VERIFYING, State.IN_PROGRESS, State.EXTENDED)

    class Meta:
        ordering = ["due_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request {self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class DataExport(models.Model):
    """The ZIP package an access or portability request produces, built in the background."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        BUILDING = "building", _("Being prepared")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    request = models.ForeignKey(DataRequest, on_delete=models.PROTECT, related_name="exports")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done")
    file = models.FileField(upload_to="privacy/exports/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField()
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Export {self.pk} for request {self.request_id}"


class ProcessingRestriction(models.Model):
    """A person's restriction of, or objection to, a use of their data, in force until lifted."""

    class Scope(models.TextChoices):
        ALL = "all", _("All processing except storage and legal duties")
        MARKETING = "marketing", _("Marketing")
        ANALYTICS = "analytics", _("Analytics")
        DISCLOSURE = "disclosure", _("New disclosures to third parties")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="processing_restrictions"
    )
    scope = models.CharField(max_length=12, choices=Scope.choices)
    reason = models.TextField(blank=True)
    request = models.ForeignKey(
        DataRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "scope"])]

    def __str__(self) -> str:
        return f"{self.scope} restricted for {self.user_id}"


class DisputeHold(models.Model):
    """An open dispute or claim about a person: their records are kept until it is closed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dispute_holds"
    )
    reason = models.TextField()
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]

    def __str__(self) -> str:
        return f"Dispute hold on {self.user_id}"


class ErasureRecord(models.Model):
    """The minimum proof that an erasure was carried out: when, by whom, and what was kept."""

    request = models.ForeignKey(
        DataRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="erasures"
    )
    subject_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    pseudonym = models.CharField(max_length=40)
    executed_at = models.DateTimeField()
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trigger = models.CharField(max_length=20, help_text="request, retention or inactivity")
    summary = models.JSONField(default=dict, help_text="Per model: rows deleted, anonymised, kept")

    class Meta:
        ordering = ["-executed_at", "-pk"]

    def __str__(self) -> str:
        return f"Erasure of subject {self.subject_id} at {self.executed_at:%Y-%m-%d}"


# --- records of provision and receipt (APPI Art. 29, 30) -------------------------------------------


class Recipient(models.Model):
    """A third party our customers' data may go to; the registry behind records of provision."""

    class Kind(models.TextChoices):
        SHIPPING_LINE = "shipping_line", _("Shipping line")
        FORWARDER = "forwarder", _("Freight forwarder")
        CUSTOMS_BROKER = "customs_broker", _("Customs broker")
        INSPECTION_AGENCY = "inspection_agency", _("Inspection agency")
        BANK = "bank", _("Bank")
        AUCTION_HOUSE = "auction_house", _("Auction house")
        ADVISER = "adviser", _("Professional adviser")
        PROCESSOR = "processor", _("IT or cloud service")
        COURIER = "courier", _("Courier")

    class Relationship(models.TextChoices):
        PROCESSOR = "processor", _("Processor (acts on our instructions)")
        JOINT_USE = "joint_use", _("Joint use")
        THIRD_PARTY = "third_party", _("Third party")

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    country = models.CharField(max_length=2, help_text="ISO 3166 country code")
    relationship = models.CharField(max_length=12, choices=Relationship.choices)
    transfer_safeguard = models.TextField(
        blank=True,
        help_text="For recipients outside Japan: the safeguard (adequacy, contract clauses, consent)",
    )
    contact = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProvisionRecord(models.Model):
    """Personal data about one person given to one recipient (APPI Art. 29): kept 3 years."""

    class Source(models.TextChoices):
        SYSTEM = "system", _("Recorded by the system")
        MANUAL = "manual", _("Recorded by staff")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="provision_records",
    )
    # The person the data is about when they have no account (a consignee, a notify party).
    subject_name = models.CharField(max_length=200, blank=True)
    subject_email = models.EmailField(blank=True, db_index=True)
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="provisions")
    data_items = models.JSONField(default=list, help_text="What was given, e.g. name, address")
    legal_basis = models.CharField(max_length=24)
    consent_reference = models.CharField(max_length=100, blank=True)
    purpose = models.CharField(max_length=200, blank=True)
    provided_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    context_type = models.CharField(max_length=100, blank=True)
    context_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-provided_at", "-pk"]

    def __str__(self) -> str:
        return f"Provision to {self.recipient_id} at {self.provided_at:%Y-%m-%d}"


class ReceiptRecord(models.Model):
    """Personal data received from someone else (APPI Art. 30), e.g. a portal-site lead."""

    provider_name = models.CharField(max_length=200)
    provider_address = models.CharField(max_length=300, blank=True)
    how_obtained = models.TextField(help_text="How the provider obtained the data")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receipt_records",
    )
    subject_name = models.CharField(max_length=200, blank=True)
    subject_email = models.EmailField(blank=True, db_index=True)
    data_items = models.JSONField(default=list)
    received_at = models.DateTimeField(db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"Receipt from {self.provider_name} at {self.received_at:%Y-%m-%d}"


class RecipientNotification(models.Model):
    """Telling a recipient that data they received was erased or corrected (GDPR Art. 19)."""

    class Kind(models.TextChoices):
        ERASURE = "erasure", _("Erasure")
        RECTIFICATION = "rectification", _("Rectification")
        RESTRICTION = "restriction", _("Restriction")

    request = models.ForeignKey(
        DataRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject_id = models.BigIntegerField(null=True, blank=True)
    provisions = models.PositiveIntegerField(help_text="How many records of provision it covers")
    sent_at = models.DateTimeField()
    sent_to = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} notice to {self.recipient_id}"


# --- breaches -------------------------------------------------------------------------------------


class Breach(models.Model):
    """A personal-data incident and the clocks it starts (GDPR Art. 33-34, APPI Art. 26)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    reference = models.CharField(max_length=20, unique=True)
    detected_at = models.DateTimeField()
    occurred_from = models.DateTimeField()
    occurred_until = models.DateTimeField()
    description = models.TextField()
    categories = models.JSONField(default=list, help_text="Data categories involved")
    systems = models.TextField(blank=True)
    malicious = models.BooleanField(default=False, help_text="Caused by an attack or wrongdoing")
    high_risk = models.BooleanField(
        default=False, help_text="Likely high risk to people: they must be told"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-detected_at", "-pk"]

    def __str__(self) -> str:
        return self.reference


class BreachReport(models.Model):
    class Kind(models.TextChoices):
        GDPR_AUTHORITY = "gdpr_authority", _("GDPR supervisory authority (72 hours)")
        PPC_PRELIMINARY = "ppc_preliminary", _("PPC preliminary report")
        PPC_FINAL = "ppc_final", _("PPC final report")

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    sent_at = models.DateTimeField()
    reference = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["sent_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["breach", "kind"], name="one_report_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.breach_id}"


class BreachNotice(models.Model):
    """The notice one affected person was sent about a breach."""

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="notices")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="breach_notices"
    )
    email = models.EmailField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["breach", "user"], name="one_notice_per_person")
        ]

    def __str__(self) -> str:
        return f"Notice of {self.breach_id} to {self.user_id}"


class InactivityNotice(models.Model):
    """The warning sent before an unused account is closed; a later sign-in cancels it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inactivity_notices"
    )
    warned_at = models.DateTimeField()
    last_login_seen = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-warned_at", "-pk"]

    def __str__(self) -> str:
        return f"Inactivity warning to {self.user_id}"
