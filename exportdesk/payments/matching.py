"""Which customer paid this? Scoring incoming bank credits against what customers owe or said
they paid.

Customers quote the wrong reference, or none; a relative or their company pays; intermediary
banks take their fee from the transfer; many cars cost the same. So every credit is scored
against the pending payment declarations and open orders it could be, on four kinds of evidence
(REFERENCE_POINTS, AMOUNT_POINTS, NAME_POINTS and the date functions below):

    reference in the remittance text  proforma, invoice, order, chassis or stock number 55;
                                      customer number 50, 40 when the amount does not say
                                      which of their orders;
                                      the reference the customer declared 45;
                                      one character off (long references only) 10 less;
                                      a second, different document of the candidate +5
    amount and currency               exact 35; short by at most the fee tolerance 32;
                                      over by at most it 20; partial or overpaid 17
    payer name                        customer, company or declared payer 15; by initials 10;
                                      a shared family name 5 (a relative: third party)
    dates                             declared 0-7 days before booking 10, 8-14 days 7,
                                      1-2 days after 6, 15-30 days 3; proforma issued within
                                      60 days before 3
    a declaration agreeing on amount, declared payer and date: +35

capped at 100. So a quoted document and the amount reach 90 (the default threshold) on their
own, as do a quoted document, its customer as payer and a partial payment; a declaration that
agrees reaches it without a reference; the amount and the payer's name alone reach 53, the
amount alone is not even suggested.

Only two kinds of match are ever confirmed without a person, whatever threshold accounting
sets ("identified"): one backed by a reference in the text, or a declaration that agrees (the
declared amount, or short of it by at most the fee tolerance; the declared payer by full name,
or written exactly as declared, initials and all: "L. MOYO" for "L. Moyo"; the date within two
weeks) while no other customer owes that amount, give or take the fee, under that name, every
namesake was looked at (for initials, everyone the initials could stand for), the customer's
other candidates are not owed exactly that amount when the declaration is only within the fee,
and the text neither quotes another document nor says it is interest or a refund. It must also
lead by the margin every candidate that would credit something else; and a third-party payment
waits for a person when the payer's name owes the same amount elsewhere.

Speed: the benchmark matches 20,000 credits against 50,000 candidates, so `Matcher` indexes
the candidates once (reference -> candidates, amount -> candidates, name -> candidates), scores
per credit only the few those lookups return, and stops early when a quoted document agrees
with the amount and the payer.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Context, Decimal
from typing import Any, ClassVar

from django.db import connections
from django.db.models import DecimalField, Q, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext, gettext_noop, ngettext

from exportdesk.core.money import money_format, quantize
from exportdesk.payments.models import Allocation, PaymentDeclaration, PaymentSettings
from exportdesk.sales.models import Order, ProformaLine
from exportdesk.sales.numbers import PREFIXES as DOCUMENT_PREFIXES
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
    if text.isascii():  # the usual case, and the one the index is built from: keep it quick
        return text.translate(_COMPACT)
    return _non_ascii_to_space(fold_accents(text)).translate(_COMPACT).replace(" ", "")


def reference_text(text: str) -> str:
    """The remittance text in reference form, words kept apart by single spaces."""
    return " ".join(_non_ascii_to_space(fold_accents(text)).translate(_SPACED).split())


# Document numbers are PREFIX-YEAR-NNNNN (`document_number_next`); customers drop the zero
# padding ("PF 2026 42"), which a dictionary of exact strings would miss, so they are parsed.
_DOCUMENT_SEQUENCE_WIDTH = 5
_DOCUMENT_NUMBER = re.compile(
    r"(?<![0-9A-Z])("
    + "|".join(normalise_reference(prefix) for prefix in DOCUMENT_PREFIXES.values())
    + r") ?([0-9]{4}) ?([0-9]{1,7})(?![0-9A-Z])"
)

# A reference shorter than this turns up in unrelated text by chance.
MIN_REFERENCE_LENGTH = 5
# One wrong, missing or extra character is forgiven only in references at least this long.
MIN_FUZZY_LENGTH = 8
# Remittance words are joined up to this many at a time ("PF 2026 00042" is three words).
_MAX_WORDS_PER_REFERENCE = 4
_MAX_REFERENCE_LENGTH = 24


def text_keys(spaced: str) -> dict[str, str]:
    """Every string in the remittance text that could be a stored reference, with how it was
    written when that differs: runs of up to four consecutive words joined together (written as
    they are, ''), and document numbers with their zero padding restored ("PF202600042" written
    "PF202642"). A restored number is a guess: "PF 2026 2456" may be 02456 or 22456 with a
    digit lost."""
    words = spaced.split()
    keys: dict[str, str] = {}
    for start in range(len(words)):
        joined = ""
        for word in words[start : start + _MAX_WORDS_PER_REFERENCE]:
            joined += word
            if len(joined) > _MAX_REFERENCE_LENGTH:
                break
            if len(joined) >= MIN_REFERENCE_LENGTH:
                keys[joined] = ""
    for prefix, year, sequence in _DOCUMENT_NUMBER.findall(spaced):
        restored = f"{prefix}{year}{int(sequence):0{_DOCUMENT_SEQUENCE_WIDTH}d}"
        keys.setdefault(restored, f"{prefix}{year}{sequence}")
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
_NAME_SEPARATORS = {code: " " for code in range(128) if not chr(code).isalnum()}
_VOWELS = str.maketrans("", "", "AEIOUY")


def name_words(text: str) -> tuple[str, ...]:
    """A person's or company's name as comparable words: upper case, accents folded, company
    forms, titles and particles dropped ("Sr. José da Silva & Cía. Ltda." -> JOSE SILVA)."""
    folded = fold_accents(text).upper()
    if "." in folded:
        folded = _DOTTED_INITIALISM.sub("", folded)
    # Most names are ASCII by now: a translation table is several times faster than a regex.
    ascii_ = folded.isascii()
    folded = folded.translate(_NAME_SEPARATORS) if ascii_ else _NON_WORD.sub(" ", folded)
    return tuple(word for word in folded.split() if word not in _NAME_NOISE)


# Names repeat across customers and credits: the per-word work is cached.
@functools.lru_cache(maxsize=1 << 16)
def skeleton(word: str) -> str:
    """First letter and the consonants after it, doubles collapsed: transliterations of one
    name share it ("MOHAMMED", "MUHAMAD", "MOHAMED" -> "MHMD")."""
    collapsed = [word[0]]
    for char in word[1:].translate(_VOWELS):
        if char != collapsed[-1]:
            collapsed.append(char)
    return "".join(collapsed)


@functools.lru_cache(maxsize=1 << 18)
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


@dataclass(frozen=True)
class Name:
    """A name prepared once for many comparisons."""

    text: str
    words: tuple[str, ...]
    # The words and their skeletons ("#MHMD"): two names `name_level` finds anything alike in
    # share one, so comparing key sets rejects unrelated names at C speed. (A word with a
    # consonant mistyped shares none; the name's other words still let it through.)
    keys: frozenset[str]
    ordered: tuple[str, ...]  # the words sorted: two names of the same words compare equal
    full: bool  # two words or more, none an initial

    @classmethod
    def of(cls, text: str) -> Name:
        words = name_words(text)
        keys = set(words)
        for word in words:
            if len(word) >= 4:
                shape = skeleton(word)
                if len(shape) >= 3:
                    keys.add("#" + shape)
        ordered = tuple(sorted(set(words)))
        full = len(ordered) >= 2 and all(len(word) > 1 for word in ordered)
        return cls(text, words, frozenset(keys), ordered, full)


# How well a payer's name matches one of the candidate's names.
NAME_NONE, NAME_FAMILY, NAME_INITIALS, NAME_FULL = 0, 1, 2, 3


def name_level(payer: Name, other: Name) -> int:
    """NAME_FULL when every word of one name is in the other and at least two are (word order,
    accents, case, company forms, a typo and transliteration forgiven); NAME_INITIALS when some
    only by their initial and no word is left over ("J. KAMAU" for "John Kamau"); NAME_FAMILY
    when they share a distinctive word (a relative; the owner's name in a company's); else
    NAME_NONE."""
    if not payer.words or not other.words or payer.keys.isdisjoint(other.keys):
        return NAME_NONE
    if payer.ordered == other.ordered and payer.full:  # the usual case
        return NAME_FULL
    left, right = list(payer.words), list(other.words)
    shared = _take_same_words(left, right)
    if not shared:
        return NAME_NONE
    covered = not left or not right
    if covered and (len(shared) >= 2 or (not left and not right and len(shared[0]) >= 4)):
        return NAME_FULL
    if _take_initials(left, right) and not left and not right:
        return NAME_INITIALS
    if any(word not in _GENERIC_NAME_WORDS for word in shared):
        return NAME_FAMILY
    return NAME_NONE


def _take_same_words(left: list[str], right: list[str]) -> list[str]:
    """Remove the words the two lists have in common (once each); return them."""
    shared = []
    for word in [w for w in left if len(w) > 1]:  # spelled alike first: the usual case
        if word in right:
            left.remove(word)
            right.remove(word)
            shared.append(word)
    for word in [w for w in left if len(w) >= 4]:
        other = next((o for o in right if len(o) >= 4 and same_word(word, o)), None)
        if other is not None:
            left.remove(word)
            right.remove(other)
            shared.append(word)
    return shared


def _take_initials(left: list[str], right: list[str]) -> bool:
    """Pair initials on either side with remaining words they begin, or the same initial;
    True if any paired."""
    paired = False
    for initial in [word for word in left if len(word) == 1 and word in right]:
        left.remove(initial)
        right.remove(initial)
        paired = True
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
    # Words the reasons (`reasons`) when they are first read: most credits of a statement are
    # confirmed without anyone reading why, and wording is most of a suggestion's cost.
    explain: Callable[[], tuple[str, ...]] = field(default=tuple, repr=False, compare=False)

    @functools.cached_property
    def reasons(self) -> tuple[str, ...]:
        """Why this candidate, for accounting, translated."""
        return self.explain()


# --- Scoring weights ------------------------------------------------------------------------------

REFERENCE_POINTS = {
    "proforma": 55,
    "invoice": 55,
    "order": 55,
    "chassis": 55,
    "stock": 55,
    "declared": 45,
    # Says who, not which order: the amount has to say which...
    "customer": 50,
}
# ...and when it does not (a partial payment), the customer number is worth less.
CUSTOMER_ONLY_POINTS = 40
FUZZY_PENALTY = 10
# Two different documents of one candidate quoted (proforma and chassis): independent evidence.
SECOND_REFERENCE_POINTS = 5
_DOCUMENT_KINDS = frozenset({"proforma", "invoice", "order", "stock", "chassis"})

AMOUNT_EXACT, AMOUNT_FEE, AMOUNT_OVER_FEE, AMOUNT_PARTIAL, AMOUNT_OVER, AMOUNT_OFF = range(6)
AMOUNT_CURRENCY = 6
AMOUNT_POINTS = {
    AMOUNT_EXACT: 35,
    AMOUNT_FEE: 32,
    AMOUNT_OVER_FEE: 20,
    # A document quoted, paid by its customer, in part or with more: still theirs (55 + 17 +
    # 15 + 3 reaches 90); the customer number alone does not say which order (85).
    AMOUNT_PARTIAL: 17,
    AMOUNT_OVER: 17,
    AMOUNT_OFF: 0,
    AMOUNT_CURRENCY: 0,
}
# A partial payment or an overpayment is still plausibly "for" the candidate from a tenth of
# the expected amount to three times it.
PARTIAL_DIVISOR = 10
OVERPAID_MULTIPLE = 3

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


_NO_CHARGE = Decimal(0)


def _milli(amount: Decimal) -> int:
    """Thousandths, the precision every stored amount has (a finer one is cut off)."""
    return int(amount.scaleb(3))


# Every reference has digits: a text with fewer than three has no reference to mistype.
_REFERENCE_LIKE = re.compile(r"(?:[^0-9]*[0-9]){3}")
# Words that say a credit is something else than a customer's payment.
_NOT_A_PAYMENT = frozenset(
    normalise_reference(word)
    for word in ("INTEREST", "REFUND", "REVERSAL", "RETURN", "RETURNED", "DIVIDEND", "CHARGEBACK")
)
# A document or customer number quoted in the remittance text ("PF 2026 42", "C000042").
_QUOTED_NUMBER = re.compile(_DOCUMENT_NUMBER.pattern + r"|(?<![0-9A-Z])C ?[0-9]{6}(?![0-9A-Z])")

# --- The matcher --------------------------------------------------------------------------------


@dataclass
class _Hit:
    """The best reference of one candidate found in one credit's text."""

    points: int
    kind: str
    value: str
    typed: str = ""  # what the text said, for a reference found one character different
    documents: frozenset[str] = frozenset()  # the document kinds found for this candidate
    padded: bool = False  # found only with its zero padding restored


@dataclass(slots=True)
class _Credit:
    """One credit, as scoring needs it."""

    credit: CreditFacts
    payer: Name
    hits: dict[int, _Hit]  # candidate index -> the reference of it found in the text
    paid: int = 0  # the amount in thousandths
    currency: str = ""
    # Whether a declaration may be identified without a reference (see `Matcher.suggest`).
    may_agree: bool = True
    # The candidates' names made of exactly the payer's words (the index knows them).
    same_names: frozenset[str] = frozenset()
    near: tuple[int, int] = (0, 0)  # `Matcher._near`
    # How the payer compares with each name met so far (a customer's candidates share theirs).
    levels: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.paid, self.currency = _milli(self.credit.amount), self.credit.currency.upper()


@dataclass(slots=True)
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
    total: int = 0

    def __post_init__(self) -> None:
        self.total = min(100, self.evidence + (DECLARATION_AGREES_POINTS if self.agrees else 0))

    def disagree(self) -> None:
        self.agrees, self.total = False, min(100, self.evidence)

    @property
    def payer_owes_this(self) -> bool:
        """The amount and the payer's name both fit this candidate."""
        return self.amount_level in (AMOUNT_EXACT, AMOUNT_FEE) and self.name_level >= NAME_INITIALS


CandidateKey = tuple[str, int | tuple[int, ...]]


def _candidate_key(candidate: Candidate) -> CandidateKey:
    if candidate.declaration_id is not None:
        return ("declaration", candidate.declaration_id)
    return ("order", candidate.order_ids)


# Per credit, at most this many candidates come from the amount alone, nearest amounts first:
# alone they are only ever suggestions, and many cars cost the same.
_AMOUNT_POOL = 8
# The amount and a proforma's date alone (35 + 3 at most) are not worth a row in accounting's
# queue: many cars cost the same. With anything more (a name, a declaration's date), they are.
# Candidates below still count as rivals when deciding.
SUGGESTION_FLOOR = 40
# A mistyped reference is looked for among this many of the best candidates without one.
_FUZZY_POOL = 4
# ...and only among those with this much evidence already: with a typo found (45 points),
# enough to be confirmed.
_FUZZY_EVIDENCE = 45
# A name word shared by more candidates than this says little about which one paid.
_NAME_WORD_POOL = 25
_FULL_NAME_POOL = 200


class Matcher:
    """Candidates indexed once; `suggest` per credit; `consume` what an earlier credit took."""

    def __init__(
        self,
        candidates: Iterable[Candidate],
        *,
        fee_ratio: Decimal,
        fee_cap: Mapping[str, Decimal | None],
    ) -> None:
        """`fee_cap`: the most a credit may be short by and still pay in full, per currency;
        None for a currency with no cap (the ratio alone bounds it). A currency missing from
        it gets no tolerance at all."""
        self.fee_ratio = fee_ratio
        self.fee_cap = {currency.upper(): cap for currency, cap in fee_cap.items()}
        self._ratio = fee_ratio.as_integer_ratio()
        self._cap_milli = {
            currency: None if cap is None else _milli(cap) for currency, cap in self.fee_cap.items()
        }
        self._candidates: list[Candidate] = []
        self._alive: list[bool] = []
        self._milli: list[int] = []  # expected amounts in thousandths
        self._currencies: list[str] = []
        self._phrases: _Phrases | None = None
        self._names: dict[str, Name] = {}
        self._normalised_values: dict[str, str] = {}
        self._by_key: dict[CandidateKey, int] = {}
        self._by_customer: dict[int, list[int]] = {}
        # Normalised reference -> where it is quoted: candidate index * _POSITIONS + its
        # position among the candidate's references, or a list of those (most references are
        # one candidate's: no list, no tuple for them).
        self._references: dict[str, int | list[int]] = {}
        # Per currency, the expected amounts (thousandths) in ascending order, and whose they are.
        self._amounts: dict[str, tuple[list[int], list[int]]] = {}
        # The same for the balances `consume` left on orders paid in part: inserting into the
        # loaded list would move tens of thousands of entries each time.
        self._balances: dict[str, tuple[list[int], list[int]]] = {}
        # The declared references long enough to look for (`_declared_hits`), normalised, of
        # the candidates with any.
        self._declared: dict[int, list[str]] = {}
        # Names are indexed once per distinct name (a customer's name is on all their
        # candidates): name key -> names, name -> candidates.
        self._named: dict[str, list[int]] = {}
        self._full_names: dict[tuple[str, ...], list[str]] = {}
        self._name_words: dict[str, list[str]] = {}
        self._name_word_sizes: dict[str, int] = {}  # candidates per name word key
        self._initialled: dict[tuple[str, str], list[str]] | None = None  # `_initialled_names`
        self._add_all(candidates)
        self._index_names()
        for amounts, indexes in self._amounts.values():
            # By amount, and by index among equal amounts (the sort is stable).
            order = sorted(range(len(amounts)), key=amounts.__getitem__)
            amounts[:], indexes[:] = [amounts[i] for i in order], [indexes[i] for i in order]

    # -- building --

    def _add_all(self, candidates: Iterable[Candidate]) -> None:
        # One tight loop with the containers at hand: it runs 50,000 times per statement.
        references, named, by_key, amounts = (
            self._references,
            self._named,
            self._by_key,
            self._amounts,
        )
        by_customer, declared = self._by_customer, self._declared
        all_candidates, milli_amounts, currencies = self._candidates, self._milli, self._currencies
        shortest, longest, compact_table = MIN_REFERENCE_LENGTH, _MAX_REFERENCE_LENGTH, _COMPACT
        last_position = _POSITIONS - 1
        for index, candidate in enumerate(candidates):
            all_candidates.append(candidate)
            milli, currency = _milli(candidate.expected), candidate.currency.upper()
            milli_amounts.append(milli)
            currencies.append(currency)
            by_key[_candidate_key(candidate)] = index
            of_customer = by_customer.get(candidate.customer_id)
            if of_customer is None:
                by_customer[candidate.customer_id] = [index]
            else:
                of_customer.append(index)
            # The index entry of each reference in turn (see `_references`).
            entry, last_entry = index * _POSITIONS, index * _POSITIONS + last_position
            for kind, value in candidate.references:
                # `normalise_reference`, inlined for the usual ASCII value.
                compact = (
                    value.translate(compact_table)
                    if value.isascii()
                    else normalise_reference(value)
                )
                if kind == "declared" and len(compact) >= shortest:
                    declared.setdefault(index, []).append(compact)
                if shortest <= len(compact) <= longest:
                    found = references.get(compact)
                    if found is None:
                        references[compact] = entry
                    elif isinstance(found, int):
                        references[compact] = [found, entry]
                    else:
                        found.append(entry)
                if entry < last_entry:
                    entry += 1
            in_currency = amounts.get(currency)
            if in_currency is None:
                in_currency = amounts[currency] = ([], [])
            in_currency[0].append(milli)
            in_currency[1].append(index)
            for text in candidate.names:
                with_name = named.get(text)
                if with_name is None:
                    named[text] = [index]
                else:
                    with_name.append(index)
        self._alive = [True] * len(all_candidates)

    def _index_names(self) -> None:
        sizes = self._name_word_sizes
        for text, indexes in self._named.items():
            words = tuple(sorted(set(name_words(text))))
            if len(words) >= 2:
                self._full_names.setdefault(words, []).append(text)
            for key in {_name_word_key(word) for word in words} - {""}:
                self._name_words.setdefault(key, []).append(text)
                sizes[key] = sizes.get(key, 0) + len(indexes)

    def _initialled_names(self) -> dict[tuple[str, str], list[str]]:
        """(an initial, a word key) -> the names with that word and another word of that
        initial: every name a payer written with initials ("L. MOYO") could be. Made when a
        payer first writes initials."""
        if self._initialled is None:
            initialled: dict[tuple[str, str], list[str]] = {}
            for words, texts in self._full_names.items():
                for word in words:
                    key = _name_word_key(word)
                    if not key:
                        continue
                    for other in words:
                        if other != word:
                            initialled.setdefault((other[0], key), []).extend(texts)
            self._initialled = initialled
        return self._initialled

    # What scoring needs beyond the indexes is made the first time a candidate needs it, and
    # shared between candidates (a customer's name, a declaration's order references).

    def _name(self, text: str) -> Name:
        name = self._names.get(text)
        if name is None:
            name = self._names[text] = Name.of(text)
        return name

    def _normalised(self, value: str) -> str:
        compact = self._normalised_values.get(value)
        if compact is None:
            compact = self._normalised_values[value] = normalise_reference(value)
        return compact

    def _fuzzy_references(self, index: int) -> Iterator[tuple[str, str, str]]:
        """(kind, value, normalised) of the references long enough to forgive a typo in."""
        for kind, value in self._candidates[index].references:
            compact = self._normalised(value)
            if kind != "customer" and len(compact) >= MIN_FUZZY_LENGTH:
                yield kind, value, compact

    def _tolerance(self, expected: Decimal, currency: str) -> Decimal:
        """The shortfall accepted as intermediary bank fees: the ratio of the expected amount,
        at most the currency's cap."""
        currency = currency.upper()
        if currency not in self.fee_cap:
            return Decimal(0)
        cap = self.fee_cap[currency]
        by_ratio = expected * self.fee_ratio
        return by_ratio if cap is None else min(by_ratio, cap)

    def _tolerance_milli(self, expected: int, currency: str) -> int:
        """`_tolerance` in thousandths, in integers: scoring compares amounts in thousandths
        (every stored amount has three decimals at most), Decimal is too slow for it."""
        if currency not in self._cap_milli:
            return 0
        cap = self._cap_milli[currency]
        by_ratio = expected * self._ratio[0] // self._ratio[1]
        return by_ratio if cap is None else min(by_ratio, cap)

    # -- per credit --

    def suggest(self, credit: CreditFacts, *, limit: int = 5) -> list[Suggestion]:
        """The best `limit` candidates for a credit, best first (none for a debit)."""
        if credit.amount <= 0:
            return []
        spaced = reference_text(credit.text)
        keys = text_keys(spaced)
        payer = self._name(credit.payer_name)
        facts = _Credit(credit, payer, self._reference_hits(keys))
        facts.near = self._near(facts.paid, facts.currency)
        if payer.full:
            facts.same_names = frozenset(self._full_names.get(payer.ordered, ()))
        scores: dict[int, _Score] = {}
        self._score_into(scores, facts.hits, facts)
        # Most credits quote a document whose amount agrees, paid by its customer: nothing
        # else could outscore that, so the candidates the name or the amount would bring are
        # not even looked at.
        if not any(_settled(score) for score in scores.values()):
            # Else namesakes and the customer's other candidates may be rivals...
            named, complete = self._name_pool(facts.payer)
            # A declaration agreeing on amount, payer and date identifies the payment without
            # a reference only if every namesake was looked at, and if the text quotes no
            # document number (one of the declaration's would have been found: so it is
            # someone else's, or mistyped).
            facts.may_agree = (
                complete
                and not _QUOTED_NUMBER.search(spaced)
                and _NOT_A_PAYMENT.isdisjoint(spaced.split())
            )
            self._score_into(scores, named, facts)
            if not any(_referenced_and_paid(score) for score in scores.values()):
                # ...and without a document agreeing with the amount, look among them for a
                # mistyped reference or a long declared one; with no reference at all, among
                # the candidates the amount suggests too.
                if not facts.hits:
                    self._score_into(scores, self._amount_pool(facts), facts)
                self._look_closer(spaced, keys, scores, facts)
        return self._ranked(list(scores.values()), credit, limit)

    def _look_closer(
        self, spaced: str, keys: dict[str, str], scores: dict[int, _Score], facts: _Credit
    ) -> None:
        """Rescore the candidates with a declared reference in the text, or a reference one
        character off among the likeliest (a typo means something only with the amount or
        the name behind it: sequential document numbers are all one typo apart)."""
        hits = facts.hits
        unreferenced = [score for index, score in scores.items() if index not in hits]
        self._declared_hits(spaced, [s.index for s in unreferenced], hits)
        likely = sorted(
            (s for s in unreferenced if s.index not in hits and s.evidence >= _FUZZY_EVIDENCE),
            key=_rank,
        )
        if _REFERENCE_LIKE.search(facts.credit.text):
            self._fuzzy_hits(keys, [s.index for s in likely[:_FUZZY_POOL]], hits)
        found = [s.index for s in unreferenced if s.index in hits]
        self._score_into(scores, found, facts, again=True)

    def _score_into(
        self,
        scores: dict[int, _Score],
        indexes: Iterable[int],
        facts: _Credit,
        *,
        again: bool = False,
    ) -> None:
        """Score the live candidates not scored yet (`again`: rescore those with new hits).
        One with neither a reference nor the amount (give or take the fee tolerance) is left
        out: the name and the date alone can neither make a suggestion above the floor nor
        rival one."""
        hits, alive, expected = facts.hits, self._alive, self._milli
        low, high = facts.near
        for index in indexes:
            if alive[index] and (again or index not in scores):
                hit = hits.get(index)
                if hit is None and not low <= expected[index] <= high:
                    continue  # the quick test, for the many namesakes of a common name
                level = self._amount_level(index, facts)
                if hit is not None or level <= AMOUNT_OVER_FEE:
                    scores[index] = self._score(index, facts, hit, level)

    def _ranked(self, scores: list[_Score], credit: CreditFacts, limit: int) -> list[Suggestion]:
        owing = [score for score in scores if score.payer_owes_this]
        for score in scores if len(owing) > 1 else ():
            if score.agrees and any(_other_customer(score, other) for other in owing):
                # Another customer owes this amount under this payer's name too (a namesake,
                # a shared company name): only a reference can tell them apart. (The same
                # customer's other order of that amount is not a rival: they declared this.)
                score.disagree()
        for score in scores:
            if (
                score.agrees
                and score.hit is None
                and score.amount_level == AMOUNT_FEE
                and self._owed_exactly_elsewhere(score, _milli(credit.amount))
            ):
                # Short of the declared amount by a fee, and exactly what something else of the
                # customer's is owed: which one it pays is for them to say.
                score.disagree()
        scores.sort(key=_rank)
        named = {score.candidate.customer_id for score in owing}
        if self._phrases is None:
            # Reasons are in the language active when the matcher first suggests (one import
            # runs in one language): Django's per-call lookup of it is too slow here.
            self._phrases = _Phrases.active()
        phrases = self._phrases
        suggestions: list[Suggestion] = []
        declared: list[Candidate] = []
        for score in scores:
            if len(suggestions) == limit or score.total < SUGGESTION_FLOOR:
                break
            candidate = score.candidate
            if candidate.is_declaration:
                declared.append(candidate)
            elif any(_same_outcome(candidate, declaration) for declaration in declared):
                # An open order below a declaration naming it would be the same suggestion
                # twice: confirming the declaration credits the customer for that order.
                continue
            suggestions.append(self._suggestion(score, scores, credit, named, phrases))
        return suggestions

    def _owed_exactly_elsewhere(self, score: _Score, paid: int) -> bool:
        """Another live candidate of the same customer expects exactly `paid` (thousandths),
        in the same currency, and confirming it would credit something else."""
        currency = self._currencies[score.index]
        for index in self._by_customer.get(score.candidate.customer_id, ()):
            if (
                index != score.index
                and self._alive[index]
                and self._milli[index] == paid
                and self._currencies[index] == currency
                and not _same_outcome(score.candidate, self._candidates[index])
            ):
                return True
        return False

    def _reference_hits(self, keys: dict[str, str]) -> dict[int, _Hit]:
        hits: dict[int, _Hit] = {}
        references, alive, candidates = self._references, self._alive, self._candidates
        last = _POSITIONS - 1
        for key, written in keys.items():
            found = references.get(key)
            if found is None:
                continue
            for entry in (found,) if isinstance(found, int) else found:
                index, position = divmod(entry, _POSITIONS)
                if not alive[index]:
                    continue
                quoted = candidates[index].references
                matching: tuple[tuple[str, str], ...]
                if position < last:
                    matching = (quoted[position],)
                else:  # far down a long list: which of the rest it is
                    matching = tuple(r for r in quoted[last:] if self._normalised(r[1]) == key)
                for kind, value in matching:
                    if written:  # a number whose zeros we restored: as good as a typo
                        points = REFERENCE_POINTS[kind] - FUZZY_PENALTY
                        hit = _Hit(points, kind, value, typed=written, padded=True)
                    else:
                        hit = _Hit(REFERENCE_POINTS[kind], kind, value)
                    _record(hits, index, hit)
        return hits

    def _declared_hits(self, spaced: str, pool: list[int], hits: dict[int, _Hit]) -> None:
        """A declared reference longer than a few words is looked for in the whole text."""
        compact = spaced.replace(" ", "")
        for index in pool:
            for declared in self._declared.get(index, ()):
                if declared in compact:
                    _record(hits, index, _Hit(REFERENCE_POINTS["declared"], "declared", declared))

    def _fuzzy_hits(self, keys: dict[str, str], pool: list[int], hits: dict[int, _Hit]) -> None:
        """Candidates of the pool with a reference one character off in the text. Only looked
        for there: sequential document numbers are all one character apart from each other,
        so a typo means something only with the amount or the name behind it."""
        if not pool:
            return
        references = [(i, *ref) for i in pool for ref in self._fuzzy_references(i)]
        lengths = {len(compact) for _i, _kind, _value, compact in references}
        variants: dict[str, list[str]] = {}
        for key in keys:
            if len(key) - 1 in lengths or len(key) in lengths or len(key) + 1 in lengths:
                for variant in deletions(key):
                    variants.setdefault(variant, []).append(key)
        order = {key: position for position, key in enumerate(keys)}
        for index, kind, value, compact in references:
            typed = _one_edit_source(compact, variants, order)
            if typed:
                points = REFERENCE_POINTS[kind] - FUZZY_PENALTY
                _record(hits, index, _Hit(points, kind, value, typed=typed))

    def _near(self, paid: int, currency: str) -> tuple[int, int]:
        """The expected amounts (thousandths) a credit of `paid` is within the fee tolerance
        of, one way or the other."""
        # The tolerance of an expected amount the credit is short of by that tolerance.
        numerator, denominator = self._ratio
        expected = paid * denominator // max(1, denominator - numerator)
        tolerance = self._tolerance_milli(expected, currency)
        return paid - tolerance, paid + tolerance

    def _amount_pool(self, facts: _Credit) -> list[int]:
        """Candidates whose expected amount is the credit's give or take the fee tolerance,
        nearest first."""
        paid, tolerance = facts.paid, facts.near[1] - facts.paid
        nearest = self._nearest(self._amounts.get(facts.currency), paid, tolerance, False)
        balances = self._balances.get(facts.currency)
        if balances is not None:
            nearest += self._nearest(balances, paid, tolerance, True)
            nearest.sort()
        return [index for *_order, index in nearest[:_AMOUNT_POOL]]

    def _nearest(
        self,
        sorted_amounts: tuple[list[int], list[int]] | None,
        paid: int,
        tolerance: int,
        balances: bool,
    ) -> list[tuple[int, int, int, int]]:
        """The first live candidates of one sorted list within `tolerance` of `paid`, nearest
        first, above `paid` first at equal distances: (distance, side, position, index).

        Sorted together, the entries of both lists are in the order one list of loaded amounts
        and balances would give, a balance before the loaded amounts equal to it (the latest
        balance first): so after them walking down from `paid`."""
        if sorted_amounts is None:
            return []
        amounts, indexes = sorted_amounts
        above_side, below_side = (0, 3) if balances else (1, 2)
        below = bisect.bisect_left(amounts, paid) - 1
        above = below + 1
        nearest: list[tuple[int, int, int, int]] = []
        while len(nearest) < _AMOUNT_POOL:
            up = amounts[above] - paid if above < len(amounts) else tolerance + 1
            down = paid - amounts[below] if below >= 0 else tolerance + 1
            if min(up, down) > tolerance:
                break
            if up <= down:
                position, order = above, (up, above_side, above)
                above += 1
            else:
                position, order = below, (down, below_side, -below)
                below -= 1
            index = indexes[position]
            # Entries of consumed candidates, or of an amount since reduced, are left behind.
            if self._alive[index] and self._milli[index] == amounts[position]:
                nearest.append((*order, index))
        return nearest

    def _name_pool(self, payer: Name) -> tuple[list[int], bool]:
        """Candidates with the payer's name (or a word of it, when no name is the same), and
        whether that is all of them: with too common a name, it is not, and nothing can be
        concluded from the others looking unlike the payer."""
        if not payer.words:
            return [], True
        named = self._named
        if _initials_and_words(payer):
            # "L. MOYO" may be any Moyo with a name beginning with L, whatever the bank or the
            # customer wrote: all of them, or say that is not all.
            texts = set(self._full_names.get(payer.ordered, ()))
            initials = {word for word in payer.ordered if len(word) == 1}
            initialled = self._initialled_names()
            for word in payer.ordered:
                key = _name_word_key(word) if len(word) > 1 else ""
                for initial in initials if key else ():
                    texts.update(initialled.get((initial, key), ()))
            possible = [i for text in sorted(texts) for i in named[text]]
            return possible[:_FULL_NAME_POOL], len(possible) <= _FULL_NAME_POOL
        exact = [i for text in self._full_names.get(payer.ordered, ()) for i in named[text]]
        if exact:
            return exact[:_FULL_NAME_POOL], len(exact) <= _FULL_NAME_POOL
        pool: list[int] = []
        complete = True
        for word in payer.words:
            key = _name_word_key(word)
            if self._name_word_sizes.get(key, 0) > _NAME_WORD_POOL:
                complete = False
            elif key:
                pool += [i for text in self._name_words.get(key, ()) for i in named[text]]
        return pool, complete

    # -- scoring --

    def _score(self, index: int, facts: _Credit, hit: _Hit | None, amount_level: int) -> _Score:
        candidate, credit, payer = self._candidates[index], facts.credit, facts.payer
        charge = candidate.expected - credit.amount if amount_level == AMOUNT_FEE else _NO_CHARGE
        payer_level, matched_name = self._name_match(index, facts)
        days = (credit.booking_date - candidate.on).days
        declared = candidate.declaration_id is not None
        date_points = declaration_date_points(days) if declared else order_date_points(days)
        # Without a reference, the declaration is the only identification: it agrees only
        # when every candidate the payer's name could be was looked at (`may_agree`), and
        # (`_ranked`) no other customer owes that amount, give or take the fee, under it.
        agrees = (
            declared
            and (hit is not None or facts.may_agree)
            and amount_level in (AMOUNT_EXACT, AMOUNT_FEE)
        )
        agrees = (
            agrees
            and days in AGREEING_DAYS
            and self._paid_by_declared_payer(candidate, payer, payer_level)
        )
        reference_points = 0
        if hit is not None:
            second = SECOND_REFERENCE_POINTS if len(hit.documents) > 1 else 0
            reference_points = hit.points + second
            if hit.kind == "customer" and amount_level > AMOUNT_OVER_FEE:
                # The customer number says who; only the amount could say which order.
                reference_points = CUSTOMER_ONLY_POINTS
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

    def _amount_level(self, index: int, facts: _Credit) -> int:
        if self._currencies[index] != facts.currency:
            return AMOUNT_CURRENCY
        expected, paid = self._milli[index], facts.paid
        if paid == expected:
            return AMOUNT_EXACT
        tolerance = self._tolerance_milli(expected, facts.currency)
        if expected - tolerance <= paid < expected:
            return AMOUNT_FEE
        if expected < paid <= expected + tolerance:
            return AMOUNT_OVER_FEE
        if expected <= paid * PARTIAL_DIVISOR and paid < expected:
            return AMOUNT_PARTIAL
        if expected < paid <= expected * OVERPAID_MULTIPLE:
            return AMOUNT_OVER
        return AMOUNT_OFF

    def _paid_by_declared_payer(self, candidate: Candidate, payer: Name, level: int) -> bool:
        """The payer is the one the customer declared, by full name (their company paying
        when they said they would is another story, and company names are often alike; an
        initial is shared by half the customers of that family name)."""
        if not candidate.declared_payer:
            return level == NAME_FULL
        declared = self._name(candidate.declared_payer)
        if not payer.full and _same_writing(payer, declared):
            return True
        return name_level(payer, declared) == NAME_FULL

    def _name_match(self, index: int, facts: _Credit) -> tuple[int, str]:
        best, best_name, payer = NAME_NONE, "", facts.payer
        if payer.words:
            candidate = self._candidates[index]
            for text in candidate.names:
                if text in facts.same_names:  # the usual case, without comparing word by word
                    return NAME_FULL, text
            if (
                not payer.full  # a full name written as declared is among `same_names`
                and candidate.declared_payer
                and _same_writing(payer, self._name(candidate.declared_payer))
            ):
                # Written as the customer said the bank would write it, initials and all.
                return NAME_FULL, candidate.declared_payer
            levels = facts.levels
            for text in candidate.names:
                # A customer's candidates share their names: each is compared once per credit.
                level = levels.get(text)
                if level is None:
                    if not text.strip():
                        continue
                    level = levels[text] = name_level(payer, self._name(text))
                if level > best:
                    best, best_name = level, text
                    if level == NAME_FULL:
                        break
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
            third_party=score.third_party,
            bank_charge=score.charge,
            identified=score.hit is not None or score.agrees,
            rival_score=rival,
            payer_is_other_customer=bool(named - {candidate.customer_id}),
            explain=functools.partial(_reasons, score, credit, phrases),
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
        no amount given, it goes. Money confirmed for a declaration of one order is money for
        that order too: the second half of a split payment then matches its balance.
        """
        index = self._by_key.get(_candidate_key(candidate))
        if index is None or not self._alive[index]:
            return
        current = self._candidates[index]
        if current.declaration_id is not None:
            self._alive[index] = False
            if amount is not None and len(current.order_ids) == 1:
                order = self._by_key.get(("order", current.order_ids))
                if order is not None and self._currencies[order] == self._currencies[index]:
                    self.consume(self._candidates[order], amount=amount)
            return
        if amount is None:
            self._alive[index] = False
            return
        remaining = current.expected - amount
        if remaining <= self._tolerance(current.expected, current.currency):
            self._alive[index] = False
            return
        self._candidates[index] = replace(current, expected=remaining)
        self._milli[index] = _milli(remaining)
        amounts, indexes = self._balances.setdefault(current.currency.upper(), ([], []))
        position = bisect.bisect_left(amounts, self._milli[index])
        amounts.insert(position, self._milli[index])
        indexes.insert(position, index)


def _initials_and_words(name: Name) -> bool:
    """A name written with initials and at least one whole distinctive word ("L. MOYO")."""
    return any(len(word) == 1 for word in name.ordered) and any(
        _name_word_key(word) for word in name.ordered if len(word) > 1
    )


def _same_writing(payer: Name, declared: Name) -> bool:
    """The payer's name written with the words (initials included) the customer declared it
    with: "L. MOYO" for a declared "L. Moyo", "MOYO L" too."""
    return (
        bool(payer.ordered)
        and payer.ordered == declared.ordered
        and (payer.full or _initials_and_words(payer))
    )


# References per candidate told apart in the reference index (`Matcher._references`); a
# candidate quoting more (a declaration of a dozen orders) has the rest looked through.
_POSITIONS = 64


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


def _other_customer(score: _Score, other: _Score) -> bool:
    return score.candidate.customer_id != other.candidate.customer_id


def _rank(score: _Score) -> tuple[int, bool, int]:
    # Equal scores: a declaration first (confirming it also settles what the customer said).
    return (-score.total, score.candidate.declaration_id is None, score.index)


def _settled(score: _Score) -> bool:
    """Quoted, paid, and not by a third party: nothing the name or amount could bring in
    would change the outcome."""
    return _referenced_and_paid(score) and not score.third_party


def _referenced_and_paid(score: _Score) -> bool:
    return score.hit is not None and score.amount_level in (
        AMOUNT_EXACT,
        AMOUNT_FEE,
        AMOUNT_OVER_FEE,
    )


def _one_edit_source(compact: str, variants: dict[str, list[str]], order: dict[str, int]) -> str:
    """The word run of the text within one edit of the reference `compact`, or ''. Of several,
    the first in the text (`order`): not whichever a set yields first, since string hashing,
    and so set order, differs between processes and the same credit must give the same reason."""
    shared = variants.keys() & deletions(compact)
    typed_runs = {typed for shape in shared for typed in variants[shape]}
    matching = [typed for typed in typed_runs if within_one_edit(compact, typed)]
    return min(matching, key=order.__getitem__) if matching else ""


def _same_outcome(a: Candidate, b: Candidate) -> bool:
    """Confirming either would credit the same customer for the same thing: the same
    candidate, or a declaration and an open order it names."""
    # `_candidate_key` compared without building the keys: this runs for every pair of
    # candidates ranked for a credit.
    if a.customer_id != b.customer_id:
        return False
    if a.declaration_id is None and b.declaration_id is None:
        return a.order_ids == b.order_ids
    if a.declaration_id is not None and b.declaration_id is not None:
        return a.declaration_id == b.declaration_id
    declaration, order = (a, b) if a.is_declaration else (b, a)
    return set(order.order_ids) <= set(declaration.order_ids)


# --- Loading from the database ------------------------------------------------------------------


def matcher_load() -> Matcher:
    """A matcher over every pending declaration and every open order with something left to
    pay, read in a fixed handful of queries however many there are (a statement import runs
    it once for all its credits)."""
    payment_settings = PaymentSettings.current()
    links = _pending_declaration_links()
    declared_orders: dict[int, list[int]] = {}
    for declaration_id, order_id in links.values_list("paymentdeclaration_id", "order_id"):
        declared_orders.setdefault(declaration_id, []).append(order_id)
    wanted = Order.objects.filter(Q(status=Order.Status.OPEN) | Q(pk__in=links.values("order_id")))
    names = _CustomerNames()
    order_references, orders = _order_candidates(wanted, names)
    amount_field = PaymentDeclaration._meta.get_field("amount")
    assert isinstance(amount_field, DecimalField)
    amount_of = _decimal_reader(amount_field)
    candidates = [
        _declaration_candidate(row, amount_of, declared_orders, order_references, names)
        for row in _rows_as_stored(PaymentDeclaration.objects.filter(
            status=PaymentDeclaration.Status.PENDING
        ).values_list(
            "id", "customer_id", "amount", "currency", "paid_on", "payer_name", "reference",
            "customer__name", "customer__customer_profile__company",
        ))
    ]  # fmt: skip
    candidates += orders
    currencies = {candidate.currency for candidate in candidates}
    return Matcher(
        candidates,
        fee_ratio=payment_settings.fee_tolerance_ratio,
        fee_cap=_fee_caps(Decimal(payment_settings.fee_tolerance_max_jpy), currencies),
    )


def _pending_declaration_links() -> QuerySet[Any]:
    through = PaymentDeclaration.orders.through
    return through.objects.filter(paymentdeclaration__status=PaymentDeclaration.Status.PENDING)


class _CustomerNames:
    """Each customer's names as one shared tuple (their name, then their company if any)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], tuple[str, ...]] = {}

    def of(self, name: str, company: str | None) -> tuple[str, ...]:
        key = (name, company or "")
        names = self._known.get(key)
        if names is None:
            names = self._known[key] = (name, company) if company else (name,)
        return names


OrderReferences = dict[int, list[tuple[str, str]]]


def _order_candidates(
    wanted: QuerySet[Order], names: _CustomerNames
) -> tuple[OrderReferences, list[Candidate]]:
    """The references of each wanted order (documents and vehicles: what a declaration of it
    may be quoted by), and a candidate for each open one with something left to pay, after
    what approved allocations have paid."""
    paid = dict(
        Allocation.objects.filter(status=Allocation.Status.APPROVED, order__in=wanted)
        .values("order_id")
        .annotate(paid=Sum("order_amount"))
        .values_list("order_id", "paid")
    )
    vehicles: OrderReferences = {}
    for order_id, stock_number, chassis_number in ProformaLine.objects.filter(
        proforma__order__in=wanted, vehicle__isnull=False
    ).values_list("proforma__order__id", "vehicle__stock_number", "vehicle__chassis_number"):
        vehicles.setdefault(order_id, []).extend(
            (("stock", stock_number), ("chassis", chassis_number))
        )
    # The zone is looked up once, not per order (each lookup goes through a context-local).
    zone = timezone.get_current_timezone()
    # The zone a database without time zones (SQLite) stores datetimes in.
    stored_zone = connections[wanted.db].timezone
    total_field = Order._meta.get_field("total")
    assert isinstance(total_field, DecimalField)
    total_of = _decimal_reader(total_field)
    open_status = Order.Status.OPEN
    references: OrderReferences = {}
    candidates: list[Candidate] = []
    for (
        order_id, number, status, customer_id, currency, total, proforma_number, issued_at,
        invoice_number, name, company,
    ) in _rows_as_stored(wanted.values_list(
        "id", "number", "status", "customer_id", "currency", "total", "proforma__number",
        "proforma__issued_at", "invoice__number", "customer__name",
        "customer__customer_profile__company",
    )):  # fmt: skip
        documents = [("order", number), ("proforma", proforma_number)]
        if invoice_number:
            documents.append(("invoice", invoice_number))
        documents += vehicles.get(order_id, ())
        references[order_id] = documents
        if status != open_status:
            continue
        outstanding = total_of(total)
        if order_id in paid:
            # SQLite sums decimals in floating point: back to the currency's minor unit.
            outstanding -= quantize(paid[order_id] or 0, currency)
        if outstanding <= 0:
            continue
        if issued_at.tzinfo is None:
            issued_at = issued_at.replace(tzinfo=stored_zone)
        candidates.append(
            Candidate(
                customer_id=customer_id,
                declaration_id=None,
                order_ids=(order_id,),
                expected=outstanding,
                currency=currency,
                references=(*documents, ("customer", _customer_number(customer_id))),
                names=names.of(name, company),
                on=issued_at.astimezone(zone).date(),
            )
        )
    return references, candidates


def _rows_as_stored(rows: QuerySet[Any, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A values_list query's rows as the database driver returns them, without Django's
    per-value converters: for the tens of thousands of open orders and declarations a statement
    import reads, they cost about as much as the query itself. Decimals and datetimes are then
    for the caller to read (SQLite gives numbers as int or float, datetimes without their
    zone)."""
    sql, params = rows.query.get_compiler(rows.db).as_sql()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _decimal_reader(decimal_field: DecimalField[Any, Any]) -> Callable[[Any], Decimal]:
    """Decimals as Django reads them from a `_rows_as_stored` column, each distinct value
    converted once (many cars cost the same). PostgreSQL returns them as they are; SQLite
    stores 15 significant digits and returns an int or a float, rounded back to the field's
    places like Django's own SQLite converter does."""
    from_float = Context(prec=15).create_decimal_from_float
    places = Decimal(1).scaleb(-decimal_field.decimal_places)
    context = Context(prec=decimal_field.max_digits)  # `DecimalField.context`
    read: dict[int | float, Decimal] = {}

    def decimal(value: Decimal | int | float) -> Decimal:
        if isinstance(value, Decimal):
            return value
        converted = read.get(value)
        if converted is None:
            converted = from_float(value).quantize(places, context=context)
            read[value] = converted
        return converted

    return decimal


def _customer_number(customer_id: int) -> str:
    # The format of User.customer_number, without building a User per candidate.
    return f"C{customer_id:06d}"


def _declaration_candidate(
    row: tuple[Any, ...],
    amount_of: Callable[[Any], Decimal],
    declared_orders: dict[int, list[int]],
    order_references: OrderReferences,
    names: _CustomerNames,
) -> Candidate:
    declaration_id, customer_id, amount, currency, paid_on, payer_name, reference = row[:7]
    order_ids = sorted(declared_orders.get(declaration_id, []))
    references = [ref for order_id in order_ids for ref in order_references[order_id]]
    references.append(("customer", _customer_number(customer_id)))
    if reference.strip():
        references.append(("declared", reference.strip()))
    customer_names = names.of(row[7], row[8])
    payer = payer_name.strip()
    return Candidate(
        customer_id=customer_id,
        declaration_id=declaration_id,
        order_ids=tuple(order_ids),
        expected=amount_of(amount),
        currency=currency,
        references=tuple(references),
        names=(*customer_names, payer) if payer else customer_names,
        on=paid_on,
        declared_payer=payer,
    )


def _fee_caps(cap_jpy: Decimal, currencies: set[str]) -> dict[str, Decimal | None]:
    """The fee tolerance cap in each currency, at the latest rate on file; with no rate on
    file, None: the ratio alone bounds the tolerance (`Matcher._tolerance`)."""
    caps: dict[str, Decimal | None] = {"JPY": cap_jpy}
    for currency in currencies - {"JPY"}:
        rate = latest_rate(currency)
        caps[currency] = None if rate is None else quantize(cap_jpy / rate.jpy_per_unit, currency)
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

_NO_PAYER = gettext_noop("The bank gave no payer name")
_BOOKED_BEFORE_ISSUE = gettext_noop("Booked before the proforma was issued")
_DECLARED_FOR_BOOKING_DAY = gettext_noop("Transfer declared for the booking day")
_AGREES = gettext_noop("Amount, payer and date agree with the customer's declaration")
_FOUND = gettext_noop("%(kind)s %(reference)s found in the remittance text")
_FOUND_UNPADDED = gettext_noop(
    "%(kind)s %(reference)s found in the remittance text without its leading zeros "
    "(%(typed)s): or with a digit lost"
)
_FOUND_TYPO = gettext_noop(
    "%(kind)s %(reference)s found in the remittance text with one character different (%(typed)s)"
)
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

    def __init__(self, language: str | None) -> None:
        self.language = language
        self._singular: dict[str, str] = {}
        self._counted: dict[tuple[str, str, int], str] = {}

    @classmethod
    def active(cls) -> _Phrases:
        language = get_language()
        phrases = cls._by_language.get(language)
        if phrases is None:
            phrases = cls._by_language[language] = cls(language)
        return phrases

    # Reasons are worded when first read (`Suggestion.reasons`), perhaps after the language
    # changed: a template not memoised yet is translated in this one's language all the same.

    def gettext(self, message: str) -> str:
        translated = self._singular.get(message)
        if translated is None:
            with translation.override(self.language):
                translated = self._singular[message] = gettext(message)
        return translated

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        key = (singular, plural, count)
        translated = self._counted.get(key)
        if translated is None:
            with translation.override(self.language):
                translated = self._counted[key] = ngettext(singular, plural, count)
        return translated


_AMOUNT_PLACEHOLDERS = {
    level: tuple(re.findall(r"%\((\w+)\)s", message))
    for level, message in _AMOUNT_TEMPLATES.items()
}


def _reasons(score: _Score, credit: CreditFacts, phrases: _Phrases) -> tuple[str, ...]:
    reasons = [
        _amount_reason(score, credit, phrases),
        _name_reason(score, credit, phrases),
        _date_reason(score, phrases),
    ]
    if score.hit is not None:
        reasons.insert(0, _reference_reason(score.hit, phrases))
    if score.agrees:
        reasons.append(phrases.gettext(_AGREES))
    return tuple(reasons)


@functools.lru_cache(maxsize=1 << 14)
def _money(amount: Decimal, currency: str) -> str:
    try:
        return money_format(amount, currency)
    except ValueError:  # a currency code the bank sent that we do not know
        return f"{currency} {amount}"


def _reference_reason(hit: _Hit, phrases: _Phrases) -> str:
    values = {"kind": phrases.gettext(_KIND_LABELS[hit.kind]), "reference": hit.value}
    if hit.padded:
        return phrases.gettext(_FOUND_UNPADDED) % {**values, "typed": hit.typed}
    if hit.typed:
        return phrases.gettext(_FOUND_TYPO) % {**values, "typed": hit.typed}
    return phrases.gettext(_FOUND) % values


def _amount_reason(score: _Score, credit: CreditFacts, phrases: _Phrases) -> str:
    expected, currency = score.candidate.expected, score.candidate.currency
    message = _AMOUNT_TEMPLATES[score.amount_level]
    # Format only the amounts this reason shows (formatting is most of a reason's cost).
    values = {}
    for key in _AMOUNT_PLACEHOLDERS[score.amount_level]:
        if key == "paid":
            values[key] = _money(credit.amount, credit.currency)
        elif key == "expected":
            values[key] = _money(expected, currency)
        elif key == "charge":
            values[key] = _money(score.charge, currency)
        else:
            values[key] = _money(credit.amount - expected, currency)
    return phrases.gettext(message) % values


_NAME_TEMPLATES = {
    NAME_NONE: gettext_noop("Payer '%(payer)s' is not the customer: third-party payment"),
    NAME_FAMILY: gettext_noop(
        "Payer '%(payer)s' shares a name with '%(name)s': third-party payment"
    ),
    NAME_INITIALS: gettext_noop("Payer '%(payer)s' matches '%(name)s' by initials"),
}
_FULL_NAME_TEMPLATES = {
    "declared": gettext_noop("Payer '%(payer)s' matches the payer the customer declared"),
    "customer": gettext_noop("Payer '%(payer)s' matches the customer's name"),
    "company": gettext_noop("Payer '%(payer)s' matches the customer's company '%(name)s'"),
}


def _name_reason(score: _Score, credit: CreditFacts, phrases: _Phrases) -> str:
    candidate = score.candidate
    if not credit.payer_name.strip():
        return phrases.gettext(_NO_PAYER)
    values = {"payer": credit.payer_name.strip(), "name": score.name}
    if score.name_level != NAME_FULL:
        template = _NAME_TEMPLATES[score.name_level]
    elif candidate.declared_payer and score.name == candidate.declared_payer:
        template = _FULL_NAME_TEMPLATES["declared"]
    elif candidate.names and score.name == candidate.names[0]:
        template = _FULL_NAME_TEMPLATES["customer"]
    else:
        template = _FULL_NAME_TEMPLATES["company"]
    return phrases.gettext(template) % values


def _date_reason(score: _Score, phrases: _Phrases) -> str:
    days = score.days
    if score.candidate.declaration_id is None:
        if days < 0:
            return phrases.gettext(_BOOKED_BEFORE_ISSUE)
        return phrases.ngettext(
            "Proforma issued %(days)d day before the payment",
            "Proforma issued %(days)d days before the payment",
            days,
        ) % {"days": days}
    if days == 0:
        return phrases.gettext(_DECLARED_FOR_BOOKING_DAY)
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
