"""Which customer paid this? Scoring incoming bank credits against what customers owe or said
they paid.

Customers quote the wrong reference, or none; a relative or their company pays; intermediary
banks take their fee from the transfer; many cars cost the same. So every credit is scored
against the pending payment declarations and open orders it could be, on four kinds of evidence:

    reference quoted in the remittance text    up to 55  (proforma, invoice, order, chassis 55;
                                                          stock number 50; declared reference 45;
                                                          customer number 40; one character
                                                          different: 10 less; a second, different
                                                          reference: +5)
    amount and currency                        up to 35  (exact 35; short by at most the fee
                                                          tolerance 30; over by at most it 20;
                                                          partial or overpaid 10)
    payer name                                 up to 15  (full 15; by initials 10; family name 5)
    dates                                      up to 10  (declared 0-7 days before booking 10 ...)
    declaration agreeing on amount, payer and date: +35

capped at 100. Only two kinds of match can be confirmed without a person: one backed by a
reference in the text, or a declaration whose amount, payer and date all agree ("identified").
Amount and name alone never are, however low accounting sets the threshold; and a candidate must
be `margin` points ahead of any candidate that would credit something else.

Speed: the benchmark matches 20,000 credits against 50,000 candidates in well under three
seconds, so `Matcher` builds dictionaries once (reference -> candidates, amount -> candidates,
name -> candidates) and scores, per credit, only the few candidates those lookups return.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import get_language, gettext, gettext_noop, ngettext

from exportdesk.core.money import money_format, quantize
from exportdesk.payments.models import Allocation, PaymentDeclaration, PaymentSettings
from exportdesk.sales.models import Order, ProformaLine
from exportdesk.stock.pricing import latest_rate

# --- References ---------------------------------------------------------------------------------

# Characters that OCR, handwriting and phone keyboards confuse. Each group collapses onto its
# digit, on both the stored reference and the remittance text, so "PF-2O26-OOO42" and
# "pf 2026 00042" meet "PF-2026-00042" in one dictionary lookup.
_OCR_CONFUSIONS = {"O": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2", "G": "6"}


def _ascii_table(separator: str | None) -> dict[int, str | None]:
    """ASCII to canonical reference characters; anything else becomes `separator` (or goes)."""
    table: dict[int, str | None] = {code: separator for code in range(128)}
    for char in "0123456789":
        table[ord(char)] = char
    for upper in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        canonical = _OCR_CONFUSIONS.get(upper, upper)
        table[ord(upper)] = canonical
        table[ord(upper.lower())] = canonical
    return table


_COMPACT = _ascii_table(None)
_SPACED = _ascii_table(" ")

# Letters NFKD does not take apart.
_SPECIAL_LETTERS = str.maketrans(
    {"ß": "ss", "ẞ": "SS", "Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe",
     "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Þ": "TH", "þ": "th", "\u0131": "i", "Ħ": "H",
     "ħ": "h"}
)  # fmt: skip


def fold_accents(text: str) -> str:
    """Latin letters without their diacritics ("Müller" -> "Muller"); other scripts unchanged."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _non_ascii_to_space(text: str) -> str:
    return text if text.isascii() else "".join(c if c.isascii() else " " for c in text)


def normalise_reference(text: str) -> str:
    """A reference in the one form both sides are compared in: letters and digits only, upper
    case, accents folded, OCR look-alikes collapsed ("pf-2o26 0OO42" -> "PF202600042")."""
    return _non_ascii_to_space(fold_accents(text)).translate(_COMPACT).replace(" ", "")


def reference_text(text: str) -> str:
    """The remittance text in reference form, words kept apart by single spaces."""
    return " ".join(_non_ascii_to_space(fold_accents(text)).translate(_SPACED).split())


# Document numbers are PREFIX-YEAR-NNNNN (sales.numbers); customers drop the zero padding
# ("PF 2026 42"), which a dictionary of exact strings would miss, so they are also parsed.
_DOCUMENT_PREFIXES = {"PF": "proforma", "ORD": "order", "INV": "invoice"}
_DOCUMENT_SEQUENCE_WIDTH = 5
_DOCUMENT_NUMBER = re.compile(
    r"(?<![0-9A-Z])("
    + "|".join(normalise_reference(prefix) for prefix in _DOCUMENT_PREFIXES)
    + r") ?([0-9]{4}) ?([0-9]{1,7})(?![0-9A-Z])"
)

# A reference shorter than this turns up in unrelated text by chance.
MIN_REFERENCE_LENGTH = 5
# One wrong, missing or extra character is forgiven only in references at least this long.
MIN_FUZZY_LENGTH = 8
# Remittance words are joined up to this many at a time ("PF 2026 00042" is three words).
_MAX_WORDS_PER_REFERENCE = 4
_MAX_REFERENCE_LENGTH = 24


def text_keys(spaced: str) -> set[str]:
    """Every string in the remittance text that could be a stored reference: runs of up to four
    consecutive words joined together, and document numbers with their zero padding restored."""
    words = spaced.split()
    keys: set[str] = set()
    for start in range(len(words)):
        joined = ""
        for word in words[start : start + _MAX_WORDS_PER_REFERENCE]:
            joined += word
            if len(joined) > _MAX_REFERENCE_LENGTH:
                break
            if len(joined) >= MIN_REFERENCE_LENGTH:
                keys.add(joined)
    for prefix, year, sequence in _DOCUMENT_NUMBER.findall(spaced):
        keys.add(f"{prefix}{year}{int(sequence):0{_DOCUMENT_SEQUENCE_WIDTH}d}")
    return keys


def deletions(text: str) -> set[str]:
    """`text` and every string one character shorter: two strings within one edit of each
    other share a member of these sets (the lookup behind the typo tolerance)."""
    return {text} | {text[:i] + text[i + 1 :] for i in range(len(text))}


def within_one_edit(a: str, b: str) -> bool:
    """At most one character substituted, inserted or deleted, or two neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
    if len(a) < len(b):
        return a[first:] == b[first + 1 :]
    if a[first + 1 :] == b[first + 1 :]:
        return True
    return (
        first + 1 < len(a)
        and a[first] == b[first + 1]
        and a[first + 1] == b[first]
        and a[first + 2 :] == b[first + 2 :]
    )


# --- Names --------------------------------------------------------------------------------------

# Words that say what kind of company or which courtesy title, not who: "Kamau Motors Co., Ltd."
# is the payer "KAMAU MOTORS".
_NAME_NOISE = frozenset({
    "LTD", "LIMITED", "CO", "COMPANY", "CORP", "CORPORATION", "INC", "INCORPORATED", "LLC",
    "LLP", "PLC", "SA", "SRL", "SARL", "SAS", "SPA", "GMBH", "AG", "BV", "NV", "PTY", "PVT", "KK",
    "LTDA", "CIA", "EIRL", "CV", "AND", "MR", "MRS", "MS", "MISS", "MESSRS", "DR", "SR", "SRA",
    "MME", "SIR", "MADAM", "ENG", "HON", "DE", "DA", "DO", "DOS", "DAS", "DEL", "DI", "DU", "VAN",
    "VON", "DER", "BIN", "BINTI", "BINT", "THE",
})  # fmt: skip
# Shared by unrelated companies: they never make two names "the same family".
_GENERIC_NAME_WORDS = frozenset({
    "MOTORS", "MOTOR", "AUTO", "AUTOS", "CARS", "CAR", "TRADING", "TRADERS", "ENTERPRISES",
    "ENTERPRISE", "GROUP", "INTERNATIONAL", "IMPORT", "IMPORTS", "EXPORT", "EXPORTS",
    "HOLDINGS", "INVESTMENTS", "SERVICES", "GENERAL", "GLOBAL", "JAPAN", "AFRICA", "VEHICLES",
    "DEALERS", "SALES",
})  # fmt: skip
# "S.A.", "S.R.L.": dots between single letters close up so the company form is one word.
_DOTTED_INITIALISM = re.compile(r"(?<=\b[A-Z])\.(?=[A-Z]\b)")
_NON_WORD = re.compile(r"[\W_]+")
_VOWELS = str.maketrans("", "", "AEIOUY")


def name_words(text: str) -> tuple[str, ...]:
    """A person's or company's name as comparable words: upper case, accents folded, company
    forms, titles and particles dropped ("Sr. José da Silva & Cía. Ltda." -> JOSE SILVA)."""
    folded = _DOTTED_INITIALISM.sub("", fold_accents(text).upper())
    return tuple(word for word in _NON_WORD.sub(" ", folded).split() if word not in _NAME_NOISE)


def skeleton(word: str) -> str:
    """First letter and the consonants after it, doubles collapsed: transliterations of one
    name share it ("MOHAMMED", "MUHAMAD", "MOHAMED" -> "MHMD")."""
    collapsed = [word[0]]
    for char in word[1:].translate(_VOWELS):
        if char != collapsed[-1]:
            collapsed.append(char)
    return "".join(collapsed)


def same_word(a: str, b: str) -> bool:
    """One name word spelled two ways: equal, one typo apart, or the same skeleton."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    if max(len(a), len(b)) >= 5 and within_one_edit(a, b):
        return True
    shape = skeleton(a)
    return len(shape) >= 3 and shape == skeleton(b)


def _word_keys(word: str) -> Iterator[str]:
    """Two words `same_word` accepts always share one of these keys (words one edit apart share
    a deletion), so comparing key sets rejects unrelated names at C speed."""
    yield word
    if len(word) >= 4:
        shape = skeleton(word)
        if len(shape) >= 3:
            yield "#" + shape
        yield from ("~" + variant for variant in deletions(word))


@dataclass(frozen=True)
class Name:
    """A name prepared once for many comparisons."""

    text: str
    words: tuple[str, ...]
    keys: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Name:
        words = name_words(text)
        return cls(text, words, frozenset(key for word in words for key in _word_keys(word)))


# How well a payer's name matches one of the candidate's names.
NAME_NONE, NAME_FAMILY, NAME_INITIALS, NAME_FULL = 0, 1, 2, 3


def name_level(payer: Name, other: Name) -> int:
    """NAME_FULL when every word of one name is in the other and at least two are (word order,
    accents, case, company forms, a typo and transliteration forgiven); NAME_INITIALS when some
    only by their initial ("J. KAMAU" for "John Kamau"); NAME_FAMILY when they share a
    distinctive word (a relative; the owner's name in a company's); else NAME_NONE."""
    if not payer.words or not other.words or payer.keys.isdisjoint(other.keys):
        return NAME_NONE
    left, right = list(payer.words), list(other.words)
    shared = _take_same_words(left, right)
    if not shared:
        return NAME_NONE
    covered = not left or not right
    if covered and (len(shared) >= 2 or (not left and not right and len(shared[0]) >= 4)):
        return NAME_FULL
    if _take_initials(left, right) and (not left or not right):
        return NAME_INITIALS
    if any(word not in _GENERIC_NAME_WORDS for word in shared):
        return NAME_FAMILY
    return NAME_NONE


def _take_same_words(left: list[str], right: list[str]) -> list[str]:
    """Remove the words the two lists have in common (once each); return them."""
    shared = []
    for word in [w for w in left if len(w) > 1]:
        other = next((o for o in right if len(o) > 1 and same_word(word, o)), None)
        if other is not None:
            left.remove(word)
            right.remove(other)
            shared.append(word)
    return shared


def _take_initials(left: list[str], right: list[str]) -> bool:
    """Pair initials on either side with remaining words they begin; True if any paired."""
    paired = False
    for initials, words in ((left, right), (right, left)):
        for initial in [word for word in initials if len(word) == 1]:
            word = next((w for w in words if len(w) > 1 and w[0] == initial), None)
            if word is not None:
                initials.remove(initial)
                words.remove(word)
                paired = True
    return paired


# --- The facts on both sides ----------------------------------------------------------------------


@dataclass(frozen=True)
class CreditFacts:
    key: int  # BankTransaction id (or any id in tests)
    amount: Decimal  # positive
    currency: str
    booking_date: date
    text: str  # remittance information + customer reference, as the bank gave it
    payer_name: str  # counterparty name ('' if the bank gave none)
    payer_account: str


REFERENCE_KINDS = ("proforma", "invoice", "order", "stock", "chassis", "customer", "declared")


@dataclass(frozen=True)
class Candidate:
    customer_id: int
    declaration_id: int | None  # a pending declaration, or None for an open order on its own
    order_ids: tuple[int, ...]  # orders the declaration names, or the one open order
    expected: Decimal  # declared amount, or the order's outstanding balance
    currency: str
    # (kind, value), kind one of REFERENCE_KINDS; "declared" is what the customer typed as the
    # reference on their declaration.
    references: tuple[tuple[str, str], ...]
    # The customer's name first, then their company and the declared payer where there are any.
    names: tuple[str, ...]
    on: date  # declared transfer date, or the proforma's issue date
    declared_payer: str = ""  # the payer name on the declaration ('' for orders)

    @property
    def is_declaration(self) -> bool:
        return self.declaration_id is not None


@dataclass(frozen=True)
class Suggestion:
    candidate: Candidate
    score: int  # 0..100
    reasons: tuple[str, ...]  # for accounting, translated
    third_party: bool  # the payer is neither the customer, their company, nor the declared payer
    bank_charge: Decimal  # shortfall accepted as intermediary bank fees (0 if exact)
    # Backed by a reference in the text, or by a declaration agreeing on amount, payer and date:
    # only such a match may ever be confirmed without a person.
    identified: bool = False
    # The best score of the other candidates scored for this credit (not only those returned)
    # that would credit a different customer, declaration or order.
    rival_score: int = 0
    # Another customer owes this amount under the payer's name: for a third-party payment, a
    # sign that the reference in the text is mistyped (it names someone else's order).
    payer_is_other_customer: bool = False


# --- Scoring weights ------------------------------------------------------------------------------

REFERENCE_POINTS = {
    "proforma": 55,
    "invoice": 55,
    "order": 55,
    "chassis": 55,
    "stock": 55,
    "declared": 45,
    # Says who, not which order: the amount has to say which.
    "customer": 45,
}
FUZZY_PENALTY = 10
# Two different documents of one candidate quoted (proforma and chassis): independent evidence.
SECOND_REFERENCE_POINTS = 5
_DOCUMENT_KINDS = frozenset({"proforma", "invoice", "order", "stock", "chassis"})

AMOUNT_EXACT, AMOUNT_FEE, AMOUNT_OVER_FEE, AMOUNT_PARTIAL, AMOUNT_OVER, AMOUNT_OFF = range(6)
AMOUNT_CURRENCY = 6
AMOUNT_POINTS = {
    AMOUNT_EXACT: 35,
    AMOUNT_FEE: 30,
    AMOUNT_OVER_FEE: 20,
    AMOUNT_PARTIAL: 10,
    AMOUNT_OVER: 10,
    AMOUNT_OFF: 0,
    AMOUNT_CURRENCY: 0,
}
# A partial payment or an overpayment is still plausibly "for" the candidate within these.
PARTIAL_FLOOR = Decimal("0.1")
OVERPAID_CEILING = Decimal(3)

NAME_POINTS = {NAME_FULL: 15, NAME_INITIALS: 10, NAME_FAMILY: 5, NAME_NONE: 0}

DECLARATION_AGREES_POINTS = 35
# A declaration agrees on its date when the transfer was declared up to two weeks before the
# booking (international transfers take days) or a day or two after (time zones, value dates).
AGREEING_DAYS = range(-2, 15)


def declaration_date_points(days_before_booking: int) -> int:
    if 0 <= days_before_booking <= 7:
        return 10
    if 8 <= days_before_booking <= 14:
        return 7
    if -2 <= days_before_booking < 0:
        return 6
    if 15 <= days_before_booking <= 30:
        return 3
    return 0


def order_date_points(days_since_issue: int) -> int:
    # Customers pay a proforma within days or weeks of its issue; an order's date says little.
    return 3 if 0 <= days_since_issue <= 60 else 0


def _milli(amount: Decimal) -> int:
    return int(amount * 1000)


# --- The matcher --------------------------------------------------------------------------------


@dataclass
class _Hit:
    """The best reference of one candidate found in one credit's text."""

    points: int
    kind: str
    value: str
    typed: str = ""  # what the text said, for a reference found one character different
    documents: frozenset[str] = frozenset()  # the document kinds found for this candidate


@dataclass
class _Score:
    candidate: Candidate
    index: int
    evidence: int  # every point but those for a declaration that agrees
    hit: _Hit | None
    amount_level: int
    charge: Decimal
    name_level: int
    name: str  # which of the candidate's names the payer matched
    days: int
    agrees: bool
    third_party: bool

    @property
    def total(self) -> int:
        return min(100, self.evidence + (DECLARATION_AGREES_POINTS if self.agrees else 0))

    @property
    def payer_owes_this(self) -> bool:
        """The amount and the payer's name both fit this candidate."""
        return self.amount_level in (AMOUNT_EXACT, AMOUNT_FEE) and self.name_level >= NAME_INITIALS


@dataclass(frozen=True)
class _Prepared:
    """What scoring needs of one candidate beyond the indexes, made the first time it is
    scored (most candidates never are in one run)."""

    names: tuple[Name, ...]
    # (kind, value, normalised, deletions of normalised) for the references long enough to
    # forgive one wrong character.
    fuzzy: tuple[tuple[str, str, str, frozenset[str]], ...]
    declared: tuple[str, ...]  # normalised declared references


CandidateKey = tuple[str, int | tuple[int, ...]]


def _candidate_key(candidate: Candidate) -> CandidateKey:
    if candidate.declaration_id is not None:
        return ("declaration", candidate.declaration_id)
    return ("order", candidate.order_ids)


# Per credit, at most this many candidates come from the amount alone, nearest amounts first:
# alone they are only ever suggestions, and many cars cost the same.
_AMOUNT_POOL = 12
# A name word shared by more candidates than this says little about which one paid.
_NAME_WORD_POOL = 25
_FULL_NAME_POOL = 60


class Matcher:
    """Candidates indexed once; `suggest` per credit; `consume` what an earlier credit took."""

    def __init__(
        self,
        candidates: Iterable[Candidate],
        *,
        fee_ratio: Decimal,
        fee_cap: dict[str, Decimal],
    ) -> None:
        self.fee_ratio = fee_ratio
        self.fee_cap = {currency.upper(): cap for currency, cap in fee_cap.items()}
        self._candidates: list[Candidate] = []
        self._alive: list[bool] = []
        self._milli: list[int] = []
        self._prepared: dict[int, _Prepared] = {}
        self._names: dict[str, Name] = {}
        self._by_key: dict[CandidateKey, int] = {}
        self._references: dict[str, list[tuple[int, str, str]]] = {}
        self._amounts: dict[str, tuple[list[int], list[int]]] = {}
        self._full_names: dict[tuple[str, ...], list[int]] = {}
        self._name_words: dict[str, list[int]] = {}
        normalised: dict[str, str] = {}
        words: dict[str, tuple[str, ...]] = {}
        for candidate in candidates:
            self._add(candidate, normalised, words)
        for amounts, indexes in self._amounts.values():
            pairs = sorted(zip(amounts, indexes, strict=True))
            amounts[:], indexes[:] = [a for a, _ in pairs], [i for _, i in pairs]

    # -- building --

    def _add(
        self, candidate: Candidate, normalised: dict[str, str], words: dict[str, tuple[str, ...]]
    ) -> None:
        """Index one candidate. `normalised` and `words` cache the work the candidates of one
        customer share (a declaration repeats its orders' references, the customer's name)."""
        index = len(self._candidates)
        self._candidates.append(candidate)
        self._alive.append(True)
        self._milli.append(_milli(candidate.expected))
        self._by_key[_candidate_key(candidate)] = index
        for kind, value in candidate.references:
            compact = normalised.get(value)
            if compact is None:
                compact = normalised[value] = normalise_reference(value)
            if MIN_REFERENCE_LENGTH <= len(compact) <= _MAX_REFERENCE_LENGTH:
                self._references.setdefault(compact, []).append((index, kind, value))
        amounts, indexes = self._amounts.setdefault(candidate.currency.upper(), ([], []))
        amounts.append(self._milli[index])
        indexes.append(index)
        seen: set[str] = set()
        for text in candidate.names:
            sorted_words = words.get(text)
            if sorted_words is None:
                sorted_words = words[text] = tuple(sorted(name_words(text)))
            if len(sorted_words) >= 2:
                self._full_names.setdefault(sorted_words, []).append(index)
            for word in sorted_words:
                key = _name_word_key(word)
                if key and key not in seen:
                    seen.add(key)
                    self._name_words.setdefault(key, []).append(index)

    def _prepare(self, index: int) -> _Prepared:
        prepared = self._prepared.get(index)
        if prepared is not None:
            return prepared
        candidate = self._candidates[index]
        fuzzy = []
        for kind, value in candidate.references:
            compact = normalise_reference(value)
            if kind != "customer" and len(compact) >= MIN_FUZZY_LENGTH:
                fuzzy.append((kind, value, compact, frozenset(deletions(compact))))
        declared = (normalise_reference(v) for k, v in candidate.references if k == "declared")
        prepared = self._prepared[index] = _Prepared(
            names=tuple(self._name(text) for text in candidate.names if text.strip()),
            fuzzy=tuple(fuzzy),
            declared=tuple(d for d in declared if len(d) >= MIN_REFERENCE_LENGTH),
        )
        return prepared

    def _name(self, text: str) -> Name:
        name = self._names.get(text)
        if name is None:
            name = self._names[text] = Name.of(text)
        return name

    def _tolerance(self, expected: Decimal, currency: str) -> Decimal:
        """The shortfall accepted as intermediary bank fees. A currency without a cap (no
        exchange rate on file) gets none: better a person than an unbounded guess."""
        cap = self.fee_cap.get(currency.upper())
        if cap is None:
            return Decimal(0)
        return min(expected * self.fee_ratio, cap)

    # -- per credit --

    def suggest(self, credit: CreditFacts, *, limit: int = 5) -> list[Suggestion]:
        """The best `limit` candidates for a credit, best first (none for a debit)."""
        if credit.amount <= 0:
            return []
        spaced = reference_text(credit.text)
        keys = text_keys(spaced)
        hits = self._reference_hits(keys)
        payer = Name.of(credit.payer_name)
        pool = set(hits)
        pool.update(self._amount_pool(credit), self._name_pool(payer))
        pool = {index for index in pool if self._alive[index]}
        self._declared_hits(spaced, pool.difference(hits), hits)
        scores = {index: self._score(index, credit, payer, hits.get(index)) for index in pool}
        if not any(_referenced_and_paid(score) for score in scores.values()):
            # No quoted document agrees with the amount: a mistyped reference is the likeliest
            # story, so look for one among the candidates the amount or the name brought in.
            for index in self._fuzzy_hits(keys, pool.difference(hits), hits):
                scores[index] = self._score(index, credit, payer, hits[index])
        owing = [score for score in scores.values() if score.payer_owes_this]
        for score in scores.values():
            if score.agrees and any(not _same_outcome(score.candidate, o.candidate) for o in owing):
                # Someone else owes this amount under this payer's name too (a second car of
                # the customer's, a namesake): only a reference can tell them apart.
                score.agrees = False
        ranked = sorted(scores.values(), key=_rank)
        named = {score.candidate.customer_id for score in owing}
        phrases = _Phrases.active()
        return [self._suggestion(score, ranked, credit, named, phrases) for score in ranked[:limit]]

    def _reference_hits(self, keys: set[str]) -> dict[int, _Hit]:
        hits: dict[int, _Hit] = {}
        for key in keys:
            for index, kind, value in self._references.get(key, ()):
                if self._alive[index]:
                    _record(hits, index, _Hit(REFERENCE_POINTS[kind], kind, value))
        return hits

    def _declared_hits(self, spaced: str, pool: set[int], hits: dict[int, _Hit]) -> None:
        """A declared reference longer than a few words is looked for in the whole text."""
        compact = spaced.replace(" ", "")
        for index in pool:
            if self._candidates[index].is_declaration:
                for declared in self._prepare(index).declared:
                    if declared in compact:
                        _record(
                            hits, index, _Hit(REFERENCE_POINTS["declared"], "declared", declared)
                        )

    def _fuzzy_hits(self, keys: set[str], pool: set[int], hits: dict[int, _Hit]) -> list[int]:
        """Candidates of the pool with a reference one character off in the text. Only looked
        for there: sequential document numbers are all one character apart from each other,
        so a typo means something only with the amount or the name behind it."""
        if not pool:
            return []
        variants: dict[str, list[str]] = {}
        for key in keys:
            if len(key) >= MIN_FUZZY_LENGTH - 1:
                for variant in deletions(key):
                    variants.setdefault(variant, []).append(key)
        found = []
        for index in pool:
            for kind, value, compact, shapes in self._prepare(index).fuzzy:
                typed = _one_edit_source(compact, shapes, variants)
                if typed:
                    points = REFERENCE_POINTS[kind] - FUZZY_PENALTY
                    _record(hits, index, _Hit(points, kind, value, typed=typed))
                    found.append(index)
        return found

    def _amount_pool(self, credit: CreditFacts) -> list[int]:
        """Candidates whose expected amount is the credit's give or take the fee tolerance,
        nearest first."""
        amounts, indexes = self._amounts.get(credit.currency.upper(), ([], []))
        paid = _milli(credit.amount)
        expected = credit.amount / (1 - self.fee_ratio)
        tolerance = _milli(self._tolerance(expected, credit.currency))
        below = bisect.bisect_left(amounts, paid) - 1
        above = below + 1
        pool: list[int] = []
        while len(pool) < _AMOUNT_POOL:
            up = amounts[above] - paid if above < len(amounts) else tolerance + 1
            down = paid - amounts[below] if below >= 0 else tolerance + 1
            if min(up, down) > tolerance:
                break
            position = above if up <= down else below
            if up <= down:
                above += 1
            else:
                below -= 1
            index = indexes[position]
            # Entries of consumed candidates, or of an amount since reduced, are left behind.
            if self._alive[index] and self._milli[index] == amounts[position]:
                pool.append(index)
        return pool

    def _name_pool(self, payer: Name) -> list[int]:
        if not payer.words:
            return []
        exact = self._full_names.get(tuple(sorted(payer.words)))
        if exact:
            return exact[:_FULL_NAME_POOL]
        pool: list[int] = []
        for word in payer.words:
            key = _name_word_key(word)
            bucket = self._name_words.get(key, []) if key else []
            if len(bucket) <= _NAME_WORD_POOL:
                pool.extend(bucket)
        return pool

    # -- scoring --

    def _score(self, index: int, credit: CreditFacts, payer: Name, hit: _Hit | None) -> _Score:
        candidate = self._candidates[index]
        amount_level, charge = self._amount_level(candidate, credit)
        payer_level, matched_name = self._name_match(index, payer)
        days = (credit.booking_date - candidate.on).days
        if candidate.is_declaration:
            date_points = declaration_date_points(days)
        else:
            date_points = order_date_points(days)
        agrees = (
            candidate.is_declaration
            and amount_level in (AMOUNT_EXACT, AMOUNT_FEE)
            and payer_level >= NAME_INITIALS
            and days in AGREEING_DAYS
        )
        reference_points = 0
        if hit is not None:
            second = SECOND_REFERENCE_POINTS if len(hit.documents) > 1 else 0
            reference_points = hit.points + second
        return _Score(
            candidate=candidate,
            index=index,
            evidence=reference_points
            + AMOUNT_POINTS[amount_level]
            + NAME_POINTS[payer_level]
            + date_points,
            hit=hit,
            amount_level=amount_level,
            charge=charge,
            name_level=payer_level,
            name=matched_name,
            days=days,
            agrees=agrees,
            third_party=bool(payer.words) and payer_level < NAME_INITIALS,
        )

    def _amount_level(self, candidate: Candidate, credit: CreditFacts) -> tuple[int, Decimal]:
        if candidate.currency.upper() != credit.currency.upper():
            return AMOUNT_CURRENCY, Decimal(0)
        expected, paid = candidate.expected, credit.amount
        if paid == expected:
            return AMOUNT_EXACT, Decimal(0)
        tolerance = self._tolerance(expected, candidate.currency)
        if expected - tolerance <= paid < expected:
            return AMOUNT_FEE, expected - paid
        if expected < paid <= expected + tolerance:
            return AMOUNT_OVER_FEE, Decimal(0)
        if expected * PARTIAL_FLOOR <= paid < expected:
            return AMOUNT_PARTIAL, Decimal(0)
        if expected < paid <= expected * OVERPAID_CEILING:
            return AMOUNT_OVER, Decimal(0)
        return AMOUNT_OFF, Decimal(0)

    def _name_match(self, index: int, payer: Name) -> tuple[int, str]:
        best, best_name = NAME_NONE, ""
        if payer.words:
            for name in self._prepare(index).names:
                level = name_level(payer, name)
                if level > best:
                    best, best_name = level, name.text
        return best, best_name

    # -- results --

    def _suggestion(
        self,
        score: _Score,
        ranked: list[_Score],
        credit: CreditFacts,
        named: set[int],
        phrases: _Phrases,
    ) -> Suggestion:
        """`ranked` is every scored candidate, best first; `named`, the customers whose
        candidates the payer's name and the amount both fit."""
        candidate = score.candidate
        rival = next((s.total for s in ranked if not _same_outcome(candidate, s.candidate)), 0)
        return Suggestion(
            candidate=candidate,
            score=score.total,
            reasons=tuple(_reasons(score, credit, phrases)),
            third_party=score.third_party,
            bank_charge=score.charge,
            identified=score.hit is not None or score.agrees,
            rival_score=rival,
            payer_is_other_customer=bool(named - {candidate.customer_id}),
        )

    def decide(
        self, suggestions: list[Suggestion], *, threshold: int, margin: int
    ) -> Suggestion | None:
        """The suggestion to confirm without a person, or None.

        It must reach the threshold; be identified (a reference, or a declaration agreeing on
        amount, payer and date: never the amount and a name alone, whatever the threshold);
        and lead by `margin` every candidate that would credit another customer, declaration
        or order (a declaration and the open order it names are one outcome, not rivals). A
        third-party payment whose payer is the name of another customer's candidate waits for
        a person: the reference it quotes may be a typo.
        """
        if not suggestions:
            return None
        best = suggestions[0]
        listed = [
            s.score for s in suggestions[1:] if not _same_outcome(best.candidate, s.candidate)
        ]
        rival = max([best.rival_score, *listed])
        if best.score < threshold or not best.identified or best.score - rival < margin:
            return None
        if best.third_party and best.payer_is_other_customer:
            return None
        return best

    def consume(self, candidate: Candidate, *, amount: Decimal | None = None) -> None:
        """Stop offering a candidate an earlier credit of the same run was confirmed for.

        A declaration is confirmed once, and goes. An order paid `amount` (in its currency)
        stays with the rest of its balance, unless the rest is within the fee tolerance; with
        no amount given, it goes.
        """
        index = self._by_key.get(_candidate_key(candidate))
        if index is None or not self._alive[index]:
            return
        current = self._candidates[index]
        if current.is_declaration or amount is None:
            self._alive[index] = False
            return
        remaining = current.expected - amount
        if remaining <= self._tolerance(current.expected, current.currency):
            self._alive[index] = False
            return
        self._candidates[index] = replace(current, expected=remaining)
        self._milli[index] = _milli(remaining)
        amounts, indexes = self._amounts[current.currency.upper()]
        position = bisect.bisect_left(amounts, self._milli[index])
        amounts.insert(position, self._milli[index])
        indexes.insert(position, index)


def _name_word_key(word: str) -> str:
    """The name index key of a word ('' for words too short or too common to look up by)."""
    if len(word) < 3 or word in _GENERIC_NAME_WORDS:
        return ""
    shape = skeleton(word)
    return "#" + shape if len(word) >= 4 and len(shape) >= 3 else word


def _record(hits: dict[int, _Hit], index: int, hit: _Hit) -> None:
    """Keep the strongest reference per candidate, and which documents were quoted."""
    if hit.kind in _DOCUMENT_KINDS:
        hit.documents = frozenset({hit.kind})
    current = hits.get(index)
    if current is not None:
        documents = current.documents | hit.documents
        if hit.points <= current.points:
            hit = current
        hit.documents = documents
    hits[index] = hit


def _rank(score: _Score) -> tuple[int, bool, int]:
    # Equal scores: a declaration first (confirming it also settles what the customer said).
    return (-score.total, not score.candidate.is_declaration, score.index)


def _referenced_and_paid(score: _Score) -> bool:
    return (
        score.hit is not None
        and score.hit.kind != "customer"
        and score.amount_level in (AMOUNT_EXACT, AMOUNT_FEE, AMOUNT_OVER_FEE)
    )


def _one_edit_source(compact: str, shapes: frozenset[str], variants: dict[str, list[str]]) -> str:
    """The word run of the text within one edit of the reference `compact`, or ''."""
    if shapes.isdisjoint(variants):
        return ""
    for shape in shapes.intersection(variants):
        for typed in variants[shape]:
            if within_one_edit(compact, typed):
                return typed
    return ""


def _same_outcome(a: Candidate, b: Candidate) -> bool:
    """Confirming either would credit the same customer for the same thing: the same
    candidate, or a declaration and an open order it names."""
    if a.customer_id != b.customer_id:
        return False
    if _candidate_key(a) == _candidate_key(b):
        return True
    if a.is_declaration == b.is_declaration:
        return False
    declaration, order = (a, b) if a.is_declaration else (b, a)
    return set(order.order_ids) <= set(declaration.order_ids)


# --- Loading from the database ------------------------------------------------------------------


def matcher_load() -> Matcher:
    """A matcher over every pending declaration and every open order with something left to
    pay, read in a fixed handful of queries however many there are (a statement import runs
    it once for all its credits)."""
    payment_settings = PaymentSettings.current()
    declarations: list[dict[str, Any]] = [
        {**row}
        for row in PaymentDeclaration.objects.filter(
            status=PaymentDeclaration.Status.PENDING
        ).values(
            "id", "customer_id", "amount", "currency", "paid_on", "payer_name", "reference",
            "customer__name", "customer__customer_profile__company",
        )
    ]  # fmt: skip
    links = _pending_declaration_links()
    declared_orders: dict[int, list[int]] = {}
    for declaration_id, order_id in links.values_list("paymentdeclaration_id", "order_id"):
        declared_orders.setdefault(declaration_id, []).append(order_id)
    wanted = Order.objects.filter(Q(status=Order.Status.OPEN) | Q(pk__in=links.values("order_id")))
    orders = _order_rows(wanted)
    candidates = [_declaration_candidate(row, declared_orders, orders) for row in declarations]
    candidates += [
        candidate
        for row in orders.values()
        if row["status"] == Order.Status.OPEN and (candidate := _order_candidate(row))
    ]
    currencies = {candidate.currency for candidate in candidates}
    return Matcher(
        candidates,
        fee_ratio=payment_settings.fee_tolerance_ratio,
        fee_cap=_fee_caps(Decimal(payment_settings.fee_tolerance_max_jpy), currencies),
    )


def _pending_declaration_links() -> QuerySet[Any]:
    through = PaymentDeclaration.orders.through
    return through.objects.filter(paymentdeclaration__status=PaymentDeclaration.Status.PENDING)


def _order_rows(wanted: QuerySet[Order]) -> dict[int, dict[str, Any]]:
    """Each order with its references, names and what approved allocations have paid."""
    rows: dict[int, dict[str, Any]] = {
        row["id"]: {**row, "paid": Decimal(0), "vehicles": []}
        for row in wanted.values(
            "id", "number", "status", "customer_id", "currency", "total", "proforma__number",
            "proforma__issued_at", "invoice__number", "customer__name",
            "customer__customer_profile__company",
        )
    }  # fmt: skip
    paid = (
        Allocation.objects.filter(status=Allocation.Status.APPROVED, order__in=wanted)
        .values("order_id")
        .annotate(paid=Sum("order_amount"))
        .values_list("order_id", "paid")
    )
    vehicles = ProformaLine.objects.filter(
        proforma__order__in=wanted, vehicle__isnull=False
    ).values_list("proforma__order__id", "vehicle__stock_number", "vehicle__chassis_number")
    for order_id, amount in paid:
        rows[order_id]["paid"] = amount or Decimal(0)
    for order_id, stock_number, chassis_number in vehicles:
        rows[order_id]["vehicles"].append((stock_number, chassis_number))
    return rows


def _customer_number(customer_id: int) -> str:
    # The format of User.customer_number, without building a User per candidate.
    return f"C{customer_id:06d}"


def _order_references(row: dict[str, Any]) -> list[tuple[str, str]]:
    references = [("order", row["number"]), ("proforma", row["proforma__number"])]
    if row["invoice__number"]:
        references.append(("invoice", row["invoice__number"]))
    for stock_number, chassis_number in row["vehicles"]:
        references += [("stock", stock_number), ("chassis", chassis_number)]
    return references


def _customer_names(row: dict[str, Any]) -> list[str]:
    names = [row["customer__name"]]
    if row["customer__customer_profile__company"]:
        names.append(row["customer__customer_profile__company"])
    return names


def _order_candidate(row: dict[str, Any]) -> Candidate | None:
    outstanding = row["total"] - row["paid"]
    if outstanding <= 0:
        return None
    references = _order_references(row)
    references.append(("customer", _customer_number(row["customer_id"])))
    return Candidate(
        customer_id=row["customer_id"],
        declaration_id=None,
        order_ids=(row["id"],),
        expected=outstanding,
        currency=row["currency"],
        references=tuple(references),
        names=tuple(_customer_names(row)),
        on=timezone.localdate(row["proforma__issued_at"]),
    )


def _declaration_candidate(
    row: dict[str, Any], declared_orders: dict[int, list[int]], orders: dict[int, dict[str, Any]]
) -> Candidate:
    order_ids = sorted(declared_orders.get(row["id"], []))
    references = [ref for order_id in order_ids for ref in _order_references(orders[order_id])]
    references.append(("customer", _customer_number(row["customer_id"])))
    if row["reference"].strip():
        references.append(("declared", row["reference"].strip()))
    names = _customer_names(row)
    if row["payer_name"].strip():
        names.append(row["payer_name"].strip())
    return Candidate(
        customer_id=row["customer_id"],
        declaration_id=row["id"],
        order_ids=tuple(order_ids),
        expected=row["amount"],
        currency=row["currency"],
        references=tuple(references),
        names=tuple(names),
        on=row["paid_on"],
        declared_payer=row["payer_name"].strip(),
    )


def _fee_caps(cap_jpy: Decimal, currencies: set[str]) -> dict[str, Decimal]:
    """The fee tolerance cap in each currency, at the latest rate on file; a currency with no
    rate gets no cap, and so no tolerance (`Matcher._tolerance`)."""
    caps = {"JPY": cap_jpy}
    for currency in currencies - {"JPY"}:
        rate = latest_rate(currency)
        if rate is not None:
            caps[currency] = quantize(cap_jpy / rate.jpy_per_unit, currency)
    return caps


# --- Reasons (shown to accounting) --------------------------------------------------------------

_KIND_LABELS = {
    "proforma": gettext_noop("Proforma"),
    "invoice": gettext_noop("Invoice"),
    "order": gettext_noop("Order"),
    "stock": gettext_noop("Stock number"),
    "chassis": gettext_noop("Chassis number"),
    "customer": gettext_noop("Customer number"),
    "declared": gettext_noop("Declared reference"),
}

_AMOUNT_TEMPLATES = {
    AMOUNT_EXACT: gettext_noop("Amount matches exactly (%(expected)s)"),
    AMOUNT_FEE: gettext_noop("Amount matches (short by %(charge)s: intermediary bank fee)"),
    AMOUNT_OVER_FEE: gettext_noop("Amount matches (%(difference)s more than expected)"),
    AMOUNT_PARTIAL: gettext_noop("Partial payment: %(paid)s of %(expected)s"),
    AMOUNT_OVER: gettext_noop("Overpayment: %(paid)s for %(expected)s expected"),
    AMOUNT_OFF: gettext_noop("Amount differs: %(paid)s for %(expected)s expected"),
    AMOUNT_CURRENCY: gettext_noop("Different currency: %(paid)s for %(expected)s expected"),
}


class _Phrases:
    """Translated reason templates, memoised per language: Django's gettext looks the active
    language up in a context-local on every call, too slow for the benchmark's 100,000 reasons.
    Every template still goes through gettext/ngettext once per language."""

    _by_language: ClassVar[dict[str | None, _Phrases]] = {}

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str, int], str] = {}

    @classmethod
    def active(cls) -> _Phrases:
        language = get_language()
        phrases = cls._by_language.get(language)
        if phrases is None:
            phrases = cls._by_language[language] = cls()
        return phrases

    def gettext(self, message: str) -> str:
        key = (message, "", 0)
        translated = self._memo.get(key)
        if translated is None:
            translated = self._memo[key] = gettext(message)
        return translated

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        key = (singular, plural, count)
        translated = self._memo.get(key)
        if translated is None:
            translated = self._memo[key] = ngettext(singular, plural, count)
        return translated


def _reasons(score: _Score, credit: CreditFacts, phrases: _Phrases) -> Iterator[str]:
    if score.hit is not None:
        yield _reference_reason(score.hit, phrases)
    yield _amount_reason(score, credit, phrases)
    yield _name_reason(score, credit, phrases)
    yield _date_reason(score, phrases)
    if score.agrees:
        yield phrases.gettext(
            gettext_noop("Amount, payer and date agree with the customer's declaration")
        )


def _money(amount: Decimal, currency: str) -> str:
    try:
        return money_format(amount, currency)
    except ValueError:  # a currency code the bank sent that we do not know
        return f"{currency} {amount}"


def _reference_reason(hit: _Hit, phrases: _Phrases) -> str:
    values = {"kind": phrases.gettext(_KIND_LABELS[hit.kind]), "reference": hit.value}
    if hit.typed:
        template = gettext_noop(
            "%(kind)s %(reference)s found in the remittance text with one character "
            "different (%(typed)s)"
        )
        return phrases.gettext(template) % {**values, "typed": hit.typed}
    return phrases.gettext(gettext_noop("%(kind)s %(reference)s found in the remittance text")) % (
        values
    )


def _amount_reason(score: _Score, credit: CreditFacts, phrases: _Phrases) -> str:
    expected, currency = score.candidate.expected, score.candidate.currency
    amounts = {
        "paid": lambda: _money(credit.amount, credit.currency),
        "expected": lambda: _money(expected, currency),
        "charge": lambda: _money(score.charge, currency),
        "difference": lambda: _money(credit.amount - expected, currency),
    }
    template = phrases.gettext(_AMOUNT_TEMPLATES[score.amount_level])
    # Format only the amounts this template shows (formatting is most of a reason's cost).
    return template % {key: text() for key, text in amounts.items() if f"%({key})s" in template}


def _name_reason(score: _Score, credit: CreditFacts, phrases: _Phrases) -> str:
    candidate = score.candidate
    if not credit.payer_name.strip():
        return phrases.gettext(gettext_noop("The bank gave no payer name"))
    values = {"payer": credit.payer_name.strip(), "name": score.name}
    if score.name_level == NAME_NONE:
        template = gettext_noop("Payer '%(payer)s' is not the customer: third-party payment")
    elif score.name_level == NAME_FAMILY:
        template = gettext_noop(
            "Payer '%(payer)s' shares a name with '%(name)s': third-party payment"
        )
    elif score.name_level == NAME_INITIALS:
        template = gettext_noop("Payer '%(payer)s' matches '%(name)s' by initials")
    elif candidate.declared_payer and score.name == candidate.declared_payer:
        template = gettext_noop("Payer '%(payer)s' matches the payer the customer declared")
    elif candidate.names and score.name == candidate.names[0]:
        template = gettext_noop("Payer '%(payer)s' matches the customer's name")
    else:
        template = gettext_noop("Payer '%(payer)s' matches the customer's company '%(name)s'")
    return phrases.gettext(template) % values


def _date_reason(score: _Score, phrases: _Phrases) -> str:
    days = score.days
    if not score.candidate.is_declaration:
        if days < 0:
            return phrases.gettext(gettext_noop("Booked before the proforma was issued"))
        return phrases.ngettext(
            "Proforma issued %(days)d day before the payment",
            "Proforma issued %(days)d days before the payment",
            days,
        ) % {"days": days}
    if days == 0:
        return phrases.gettext(gettext_noop("Transfer declared for the booking day"))
    if days < 0:
        return phrases.ngettext(
            "Transfer declared %(days)d day after the booking",
            "Transfer declared %(days)d days after the booking",
            -days,
        ) % {"days": -days}
    return phrases.ngettext(
        "Transfer declared %(days)d day before the booking",
        "Transfer declared %(days)d days before the booking",
        days,
    ) % {"days": days}
