"""Finding everything the inventory holds about one person.

A person is known by their account, by an e-mail address, or both: a visitor's inquiry carries
only an address, and once that visitor registers with the same address it is theirs too. Each
model's declaration says how to reach its subject (`subject` path to the user, `subject_email`
path to an address); this module turns those paths into queries, so the access package, the
erasure plan and the breach register all see the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.personal_data import ModelDeclaration, declarations


@dataclass(frozen=True)
class Subject:
    user: User | None
    email: str

    @property
    def emails(self) -> list[str]:
        found = {self.email}
        if self.user is not None:
            found.add(self.user.email)
        return sorted(e for e in found if e)

    @property
    def label(self) -> str:
        return self.user.customer_number if self.user is not None else self.email


def subject_for_user(user: User) -> Subject:
    return Subject(user=user, email=user.email)


def subject_for_email(email: str) -> Subject:
    address = normalise_email(email)
    return Subject(user=User.objects.filter(email=address).first(), email=address)


def subject_q(declaration: ModelDeclaration, subject: Subject) -> Q | None:
    """The rows of this model about the subject, or None when the model cannot reach one."""
    found: Q | None = None
    user = subject.user
    if user is not None and declaration.subject is not None:
        found = Q(**{declaration.subject or "pk": user.pk})
    if declaration.subject_email and subject.emails:
        by_email = Q(**{f"{declaration.subject_email}__in": subject.emails})
        if declaration.subject:
            # An address row that belongs to someone else's account is theirs, not this person's.
            owner = Q(**{f"{declaration.subject}__isnull": True})
            if user is not None:
                owner |= Q(**{declaration.subject: user.pk})
            by_email &= owner
        found = by_email if found is None else found | by_email
    if declaration.model is LogEntry and user is not None:
        # Admin log lines about the person's own account name them in `object_repr`.
        about = Q(content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk))
        found = about if found is None else found | about
    return found


def subject_rows(declaration: ModelDeclaration, subject: Subject) -> QuerySet[Model]:
    q = subject_q(declaration, subject)
    manager = declaration.model._default_manager
    if q is None:
        return manager.none()
    # A path through a to-many relation can match a row twice.
    return (
        manager.filter(q).distinct() if "__" in (declaration.subject or "") else manager.filter(q)
    )


def personal_declarations() -> Iterator[ModelDeclaration]:
    """Declarations with personal data, in a stable order (app, then model)."""
    for _label, declaration in sorted(declarations().items()):
        if declaration.personal:
            yield declaration
