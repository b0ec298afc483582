"""Matching incoming bank credits to declarations and open orders: the rules one by one on plain
facts (no database), the tolerance to typos as properties, the loader on the database, and a
synthetic statement whose true matches are known, for precision and recall."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from exportdesk.payments import matching
from exportdesk.payments.matching import (
    NAME_FAMILY,
    NAME_FULL,
    NAME_INITIALS,
    NAME_NONE,
    Candidate,
    CreditFacts,
    Matcher,
    Name,
    Suggestion,
    matcher_load,
    name_level,
    name_words,
    normalise_reference,
    reference_text,
    text_keys,
    within_one_edit,
)

BOOKED = date(2026, 5, 20)
FEE_CAPS = {"JPY": Decimal(10000), "USD": Decimal("65.00"), "EUR": Decimal("60.00")}
THRESHOLD, MARGIN = 90, 15


def matcher(*candidates: Candidate) -> Matcher:
    return Matcher(candidates, fee_ratio=Decimal("0.01"), fee_cap=FEE_CAPS)


def order(
    order_id: int = 1,
    *,
    customer_id: int = 42,
    expected: str = "8450.00",
    currency: str = "USD",
    proforma: str = "PF-2026-00042",
    chassis: str = "ZVW30-1234567",
    stock: str = "KA10042",
    names: tuple[str, ...] = ("Wanjiru Kamau", "Kamau Motors Ltd"),
    on: date = BOOKED - timedelta(days=10),
) -> Candidate:
    """An open order on its own, as `matcher_load` makes it."""
    return Candidate(
        customer_id=customer_id,
        declaration_id=None,
        order_ids=(order_id,),
        expected=Decimal(expected),
        currency=currency,
        references=(
            ("proforma", proforma),
            ("order", f"ORD-2026-{order_id:05d}"),
            ("stock", stock),
            ("chassis", chassis),
            ("customer", f"C{customer_id:06d}"),
        ),
        names=names,
        on=on,
    )


def declaration(
    of: Candidate,
    declaration_id: int = 7,
    *,
    expected: str | None = None,
    payer: str = "Wanjiru Kamau",
    paid_on: date = BOOKED - timedelta(days=3),
    reference: str = "",
) -> Candidate:
    """A pending declaration for the order `of`."""
    references = of.references + ((("declared", reference),) if reference else ())
    return replace(
        of,
        declaration_id=declaration_id,
        expected=Decimal(expected) if expected else of.expected,
        references=references,
        names=(*of.names, payer),
        on=paid_on,
        declared_payer=payer,
    )


def credit(
    text: str = "",
    *,
    amount: str = "8450.00",
    currency: str = "USD",
    payer: str = "WANJIRU KAMAU",
    booked: date = BOOKED,
) -> CreditFacts:
    return CreditFacts(
        key=1,
        amount=Decimal(amount),
        currency=currency,
        booking_date=booked,
        text=text,
        payer_name=payer,
        payer_account="KE12 3456 7890",
    )


def best(found: Matcher, facts: CreditFacts) -> Suggestion:
    suggestions = found.suggest(facts)
    assert suggestions, "expected at least one suggestion"
    return suggestions[0]


def confirmed(found: Matcher, facts: CreditFacts) -> Suggestion | None:
    return found.decide(found.suggest(facts), threshold=THRESHOLD, margin=MARGIN)


# --- References ---------------------------------------------------------------------------------


def test_it_normalises_separators_case_accents_and_ocr_look_alikes():
    assert normalise_reference("PF-2026-00042") == "PF202600042"
    assert normalise_reference(" pf 2026/000 42 ") == "PF202600042"
    assert normalise_reference("PF-2O26-OOO42") == "PF202600042"
    assert normalise_reference("zvw30-1234567") == normalise_reference("ZVW3O 1234567")
    assert normalise_reference("\uff30\uff26\uff0d\uff12\uff10\uff12\uff16") == normalise_reference(
        "PF2026"
    )  # full width
    assert normalise_reference("Sĺ8") == normalise_reference("518")


def test_it_restores_the_zero_padding_customers_drop_from_document_numbers():
    assert text_keys(reference_text("Payment for PF 2026-42 Prius"))["PF202600042"] == "PF202642"
    assert text_keys(reference_text("order ord2026 7"))["0RD202600007"] == "0RD20267"
    assert text_keys(reference_text("PF-2026-00042"))["PF202600042"] == ""  # as written


def test_within_one_edit_accepts_one_change_and_refuses_two():
    assert within_one_edit("ZVW301234567", "ZVW301234567")
    assert within_one_edit("ZVW301234567", "ZVW30123467")  # missing
    assert within_one_edit("ZVW301234567", "ZVW3012345677")  # extra
    assert within_one_edit("ZVW301234567", "ZVW301234967")  # wrong
    assert within_one_edit("ZVW301234567", "ZVW301243567")  # two swapped
    assert not within_one_edit("ZVW301234567", "ZVW301299567")
    assert not within_one_edit("ZVW301234567", "ZVW3012345")


@pytest.mark.parametrize(
    "text",
    [
        "PAYMENT PF-2026-00042 TOYOTA PRIUS",
        "pf 2026 00042",
        "INV PF-2O26-OOO42",  # OCR: letter O for zero
        "ORD-2026-00001",
        "/RFB/ZVW30 1234567",
        "stock ka10042",
        "KA 10042 PRIUS",
    ],
)
def test_a_reference_is_found_whatever_its_spacing_case_or_ocr_confusions(text):
    top = best(matcher(order()), credit(text))
    assert top.score == 100
    assert "found in the remittance text" in top.reasons[0]
    assert confirmed(matcher(order()), credit(text)) == top


def test_a_document_number_without_its_zeros_is_found_but_counts_as_a_guess():
    # "PF 2026 2456" may be PF-2026-02456 written short, or PF-2026-22456 with a digit lost.
    top = best(matcher(order()), credit("PF2026-42 balance"))
    assert top.reasons[0] == (
        "Proforma PF-2026-00042 found in the remittance text without its leading zeros "
        "(PF202642): or with a digit lost"
    )
    assert top.score == 98  # 45 + 35 + 15 + 3: with the amount and the payer, confirmable
    assert confirmed(matcher(order()), credit("PF2026-42", amount="4000.00")) is None


def test_a_customer_number_identifies_the_customer_and_the_amount_the_order():
    other = order(2, expected="5000.00", proforma="PF-2026-00050", chassis="NZE161-7654321")
    found = matcher(order(), other)
    top = best(found, credit("CUST NO C000042 CAR", amount="5000.00"))
    assert top.candidate == other
    assert top.reasons[0] == "Customer number C000042 found in the remittance text"
    assert confirmed(found, credit("c 000042", amount="5000.00")) == top


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("PAYMENT ZVW30-123467", "2VW30123467"),  # missing digit
        ("PAYMENT ZVW30-12345677", "2VW3012345677"),  # extra digit
        ("PAYMENT ZVW30-1234967", "2VW301234967"),  # wrong digit
        ("PAYMENT PF-2026-00042X", "PF202600042X"),  # extra letter
    ],
)
def test_one_wrong_missing_or_extra_character_in_a_long_reference_is_forgiven(text, typed):
    top = best(matcher(order()), credit(text))
    assert "one character different" in top.reasons[0]
    assert typed in top.reasons[0]
    assert top.score >= THRESHOLD  # with the amount and the name, still confirmable
    exact = best(matcher(order()), credit("PAYMENT ZVW30-1234567", amount="8440.00"))
    fuzzy = best(matcher(order()), credit(text, amount="8440.00"))
    assert (exact.score, fuzzy.score) == (100, 95)  # 55 + 32 + 15 + 3, capped; 10 less


def test_a_short_reference_is_never_guessed_from_a_typo():
    short = replace(order(), references=(("stock", "KA1042"),))
    top = best(matcher(short), credit("STOCK KA1043"))
    assert not top.identified
    assert "found" not in " ".join(top.reasons)


def test_a_typo_alone_brings_no_candidate_it_only_corroborates_amount_or_name():
    # Sequential document numbers are all one typo apart: a typo on its own means nothing.
    top = matcher(order()).suggest(credit("PF-2026-00043", amount="10.00", payer="Someone Else"))
    assert top == []


# --- Amounts and fees ---------------------------------------------------------------------------


def test_a_credit_short_by_an_intermediary_fee_pays_in_full_and_records_the_charge():
    top = best(matcher(order()), credit("PF-2026-00042", amount="8425.00"))
    assert top.bank_charge == Decimal("25.00")
    assert "Amount matches (short by USD 25.00: intermediary bank fee)" in top.reasons
    assert top.score == 100


def test_the_fee_tolerance_is_the_smaller_of_the_ratio_and_the_cap():
    # 1 % of 8,450 is 84.50, but the cap is USD 65.
    within = best(matcher(order()), credit("PF-2026-00042", amount="8385.00", payer=""))
    beyond = best(matcher(order()), credit("PF-2026-00042", amount="8380.00", payer=""))
    assert within.bank_charge == Decimal("65.00")
    assert beyond.bank_charge == 0
    assert beyond.reasons[1] == "Partial payment: USD 8,380.00 of USD 8,450.00"


def test_a_currency_with_no_rate_for_the_cap_is_bounded_by_the_ratio_alone():
    found = Matcher([order()], fee_ratio=Decimal("0.01"), fee_cap={"USD": None})
    assert best(found, credit("PF-2026-00042", amount="8366.00")).bank_charge == Decimal("84.00")
    assert best(found, credit("PF-2026-00042", amount="8365.00")).bank_charge == 0


def test_a_currency_missing_from_the_fee_caps_gets_no_tolerance():
    gbp = order(currency="GBP", expected="6000.00")
    top = best(matcher(gbp), credit("PF-2026-00042", amount="5990.00", currency="GBP"))
    assert top.bank_charge == 0
    assert top.reasons[1].startswith("Partial payment")


def test_partial_payments_and_overpayments_are_suggested_with_a_lower_score():
    exact = best(matcher(order()), credit("PF-2026-00042", payer=""))
    partial = best(matcher(order()), credit("PF-2026-00042", amount="4000.00", payer=""))
    over = best(matcher(order()), credit("PF-2026-00042", amount="9000.00", payer=""))
    assert partial.score < exact.score and over.score < exact.score
    assert partial.reasons[1] == "Partial payment: USD 4,000.00 of USD 8,450.00"
    assert over.reasons[1] == "Overpayment: USD 9,000.00 for USD 8,450.00 expected"


def test_a_partial_payment_is_confirmed_only_when_the_document_and_the_payer_agree():
    # The proforma says which order, the payer that it is the customer's money: the deposit
    # is theirs, and the order stays open for the rest.
    found = matcher(order())
    assert confirmed(found, credit("PF-2026-00042", amount="4000.00")) is not None
    assert confirmed(found, credit("PF-2026-00042", amount="4000.00", payer="")) is None
    assert confirmed(found, credit("PF-2026-00042", amount="4000.00", payer="PETER KAMAU")) is None
    assert confirmed(found, credit("C000042", amount="4000.00")) is None
    assert found.suggest(credit("TT", amount="4000.00")) == []  # no reference: not even offered


def test_another_currency_is_suggested_on_its_reference_but_never_confirmed():
    top = best(matcher(order()), credit("PF-2026-00042", amount="1290000", currency="JPY"))
    assert top.reasons[1] == "Different currency: JPY 1,290,000 for USD 8,450.00 expected"
    assert (
        confirmed(matcher(order()), credit("PF-2026-00042", amount="1290000", currency="JPY"))
        is None
    )


def test_a_quoted_document_and_the_amount_confirm_without_a_payer_name():
    chosen = confirmed(matcher(order()), credit("PF-2026-00042", amount="8420.00", payer=""))
    assert chosen is not None
    assert chosen.bank_charge == Decimal("30.00")


def test_the_customer_number_the_amount_and_the_name_confirm():
    chosen = confirmed(matcher(order()), credit("C000042", amount="8420.00"))
    assert chosen is not None
    assert confirmed(matcher(order()), credit("C000042", payer="")) is None


def test_the_amount_alone_is_not_a_suggestion_many_cars_cost_the_same():
    stranger = credit("TT", payer="SOMEONE ELSE")
    assert matcher(order()).suggest(stranger) == []
    # With anything more, it is: a relative's family name, or a declaration's date.
    assert best(matcher(order()), replace(stranger, payer_name="PETER KAMAU")).score == 43
    assert best(matcher(declaration(order())), stranger).score == 45


def test_a_debit_gets_no_suggestion():
    assert matcher(order()).suggest(credit("PF-2026-00042", amount="-8450.00")) == []


# --- Names and third parties --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payer", "name", "level"),
    [
        ("KAMAU WANJIRU", "Wanjiru Kamau", NAME_FULL),
        ("wanjiru  kamau", "Wanjiru Kamau", NAME_FULL),
        ("JOSE MULLER", "José Müller", NAME_FULL),
        ("KAMAU MOTORS CO.,LTD", "Kamau Motors Ltd", NAME_FULL),
        ("AUTOS DEL SUR S.A.", "Autos del Sur SRL", NAME_FULL),
        ("ALICE WANJIRU KAMAU", "Wanjiru Kamau", NAME_FULL),
        ("MUHAMMAD ALI HASSAN", "Mohamed Ali Hassan", NAME_FULL),
        ("MR OKONKWO CHUKWUEMEKA", "Chukwuemeka Okonkwo", NAME_FULL),
        ("J. KAMAU", "John Kamau", NAME_INITIALS),
        ("KAMAU J", "John Kamau", NAME_INITIALS),
        ("J. KAMAU", "J Kamau", NAME_INITIALS),  # the same initial is not a full name
        ("J. KAMAU", "John Mwangi Kamau", NAME_FAMILY),  # a word left over: maybe a relative
        ("PETER KAMAU", "Wanjiru Kamau", NAME_FAMILY),
        ("TOYOTA MOTORS", "Kamau Motors", NAME_NONE),
        ("GRACE NJERI", "Wanjiru Kamau", NAME_NONE),
        ("", "Wanjiru Kamau", NAME_NONE),
    ],
)
def test_payer_names_match_whatever_the_order_accents_case_and_company_form(payer, name, level):
    assert name_level(Name.of(payer), Name.of(name)) == level


def test_company_forms_and_titles_are_not_part_of_a_name():
    assert name_words("Kamau Motors Co., Ltd.") == ("KAMAU", "MOTORS")
    assert name_words("Transportes S.A. de C.V.") == ("TRANSPORTES",)
    assert name_words("Mrs. Ngozi Okafor") == ("NGOZI", "OKAFOR")


def test_the_customers_company_paying_is_not_a_third_party():
    top = best(matcher(order()), credit("PF-2026-00042", payer="KAMAU MOTORS LIMITED"))
    assert not top.third_party
    assert (
        "Payer 'KAMAU MOTORS LIMITED' matches the customer's company 'Kamau Motors Ltd'"
        in top.reasons
    )


def test_a_relative_paying_is_a_third_party_payment_still_suggested_and_flagged():
    top = best(matcher(order()), credit("PF-2026-00042", payer="PETER KAMAU"))
    assert top.third_party
    assert top.candidate == order()
    assert (
        "Payer 'PETER KAMAU' shares a name with 'Wanjiru Kamau': third-party payment" in top.reasons
    )


def test_a_payer_the_customer_declared_is_not_a_third_party():
    declared = declaration(order(), payer="Peter Kamau")
    top = best(matcher(order(), declared), credit("PF-2026-00042", payer="KAMAU PETER"))
    assert top.candidate == declared
    assert not top.third_party
    assert "Payer 'KAMAU PETER' matches the payer the customer declared" in top.reasons


def test_an_unknown_payer_with_the_reference_and_amount_is_confirmed_and_flagged():
    # A reference and the exact amount identify the order; the deposit is held for review as
    # a third-party payment before it can be allocated.
    chosen = confirmed(matcher(order()), credit("PF-2026-00042", payer="GLOBAL REMIT LLC"))
    assert chosen is not None
    assert chosen.third_party


def test_no_payer_name_from_the_bank_is_said_and_not_flagged():
    top = best(matcher(order()), credit("PF-2026-00042", payer=""))
    assert not top.third_party
    assert "The bank gave no payer name" in top.reasons


def test_a_third_party_payment_naming_another_customer_waits_for_a_person():
    # The text quotes Wanjiru's proforma, but the payer is Grace, who owes the same amount:
    # likely Grace mistyped her own reference.
    grace = order(2, customer_id=43, proforma="PF-2026-00043", chassis="NZE161-1111111",
                  stock="KA10043", names=("Grace Njeri",))  # fmt: skip
    found = matcher(order(), grace)
    suggestions = found.suggest(credit("PF-2026-00042", payer="GRACE NJERI"))
    assert suggestions[0].candidate == order()
    assert suggestions[0].payer_is_other_customer
    assert found.decide(suggestions, threshold=THRESHOLD, margin=MARGIN) is None


# --- Dates --------------------------------------------------------------------------------------


def test_a_transfer_declared_days_before_booking_scores_higher_than_weeks_before_or_after():
    def score(paid_on: date) -> int:
        declared = declaration(order(), paid_on=paid_on, expected="9000.00")
        return best(matcher(declared), credit("PF-2026-00042", payer="")).score

    assert score(BOOKED - timedelta(days=3)) > score(BOOKED - timedelta(days=20))
    assert score(BOOKED - timedelta(days=3)) > score(BOOKED + timedelta(days=5))
    assert score(BOOKED - timedelta(days=20)) > score(BOOKED - timedelta(days=60))


def test_the_date_reason_says_how_many_days():
    top = best(matcher(declaration(order())), credit("PF-2026-00042"))
    assert "Transfer declared 3 days before the booking" in top.reasons
    top = best(matcher(order()), credit("PF-2026-00042"))
    assert "Proforma issued 10 days before the payment" in top.reasons


# --- Ambiguity and automatic confirmation -------------------------------------------------------


def test_the_amount_alone_never_confirms_even_with_a_threshold_of_zero():
    found = matcher(order())
    suggestions = found.suggest(credit("CAR PAYMENT", payer="WANJIRU KAMAU"))
    assert suggestions[0].candidate == order()
    assert not suggestions[0].identified
    assert found.decide(suggestions, threshold=0, margin=0) is None


def test_duplicate_amounts_across_customers_are_suggested_by_name_never_confirmed():
    grace = order(2, customer_id=43, proforma="PF-2026-00043", chassis="NZE161-1111111",
                  stock="KA10043", names=("Grace Njeri",))  # fmt: skip
    found = matcher(order(), grace)
    suggestions = found.suggest(credit("TT PAYMENT", payer="GRACE NJERI"))
    assert [s.candidate for s in suggestions] == [grace]  # Wanjiru's has the amount only
    assert suggestions[0].rival_score == 38
    assert found.decide(suggestions, threshold=THRESHOLD, margin=MARGIN) is None


def test_two_candidates_with_near_equal_scores_are_not_confirmed():
    grace = order(2, customer_id=43, proforma="PF-2026-00043", chassis="NZE161-1111111",
                  stock="KA10043", names=("Grace Njeri",))  # fmt: skip
    found = matcher(order(), grace)
    facts = credit("PF-2026-00042 PF-2026-00043", payer="")
    suggestions = found.suggest(facts)
    assert abs(suggestions[0].score - suggestions[1].score) < MARGIN
    assert found.decide(suggestions, threshold=THRESHOLD, margin=MARGIN) is None
    # The rival counts even when only the best suggestion is asked for.
    assert found.decide(found.suggest(facts, limit=1), threshold=THRESHOLD, margin=MARGIN) is None


def test_a_declaration_and_the_order_it_names_are_one_outcome_not_rivals():
    declared = declaration(order())
    found = matcher(order(), declared)
    suggestions = found.suggest(credit("PF-2026-00042"))
    # The order is not suggested again under its declaration.
    assert [s.candidate for s in suggestions] == [declared]
    assert found.decide(suggestions, threshold=THRESHOLD, margin=MARGIN) == suggestions[0]
    # A declared amount that is off puts the order first; the declaration is still offered.
    declared = declaration(order(), expected="9000.00")
    suggestions = matcher(order(), declared).suggest(credit("PF-2026-00042"))
    assert [s.candidate for s in suggestions] == [order(), declared]


def test_a_declaration_agreeing_on_amount_payer_and_date_is_confirmed_without_a_reference():
    declared = declaration(order(), payer="Peter Kamau", reference="")
    found = matcher(order(), declared)
    chosen = confirmed(found, credit("TRANSFER", payer="KAMAU PETER"))
    assert chosen is not None and chosen.candidate == declared
    assert chosen.score == 95  # 35 + 15 + 10 + 35
    assert "Amount, payer and date agree with the customer's declaration" in chosen.reasons


def test_without_a_reference_a_declaration_agrees_short_by_a_fee_but_not_beyond_it():
    # Intermediary banks take their fee from the transfer: short by at most the tolerance
    # still pays what was declared, and the shortfall is the bank charge.
    found = matcher(declaration(order(), payer="Peter Kamau"))
    chosen = confirmed(found, credit("TRANSFER", amount="8420.00", payer="PETER KAMAU"))
    assert chosen is not None and chosen.bank_charge == Decimal("30.00")
    assert chosen.score == 92  # 32 + 15 + 10 + 35
    # Beyond the tolerance (1 %, at most USD 65 here), or with a word saying it is something
    # else, or by initials when the customer declared a full name: a person looks.
    assert confirmed(found, credit("TRANSFER", amount="8300.00", payer="PETER KAMAU")) is None
    assert confirmed(found, credit("TRANSFER", amount="8460.00", payer="PETER KAMAU")) is None
    assert confirmed(found, credit("REFUND", payer="PETER KAMAU")) is None
    assert confirmed(found, credit("TRANSFER", payer="P. KAMAU")) is None
    assert confirmed(found, credit("PF-2026-00042", amount="8420.00", payer="P. KAMAU"))


def test_a_fee_short_declaration_does_not_agree_when_another_of_their_orders_is_owed_exactly():
    # Short of the declared 8,450 by 30, and exactly the 8,420 their other order is owed:
    # which one it pays is not for the matcher to guess.
    other = order(2, expected="8420.00", proforma="PF-2026-00050", chassis="NZE161-7654321",
                  stock="KA10050")  # fmt: skip
    declared = declaration(order(), payer="Peter Kamau")
    found = matcher(declared, other)
    suggestions = found.suggest(credit("TRANSFER", amount="8420.00", payer="PETER KAMAU"))
    assert found.decide(suggestions, threshold=THRESHOLD, margin=MARGIN) is None
    # Declared to the cent, the same other order is no rival (test below).
    assert confirmed(found, credit("TRANSFER", payer="PETER KAMAU")) is not None


def test_a_fee_short_declaration_with_a_namesake_owing_about_as_much_waits_for_a_person():
    namesake = order(2, customer_id=43, expected="8440.00", proforma="PF-2026-00043",
                     chassis="NZE161-1111111", stock="KA10043", names=("Peter Kamau",))  # fmt: skip
    found = matcher(declaration(order(), payer="Peter Kamau"), namesake)
    suggestions = found.suggest(credit("TRANSFER", amount="8420.00", payer="PETER KAMAU"))
    assert found.decide(suggestions, threshold=THRESHOLD, margin=MARGIN) is None


def test_a_payer_written_with_the_initials_the_customer_declared_agrees():
    # The customer said the bank would show "P. Kamau"; it does.
    declared = declaration(order(), payer="P. Kamau")
    found = matcher(declared)
    chosen = confirmed(found, credit("TRANSFER", payer="P. KAMAU"))
    assert chosen is not None and chosen.candidate == declared
    assert "matches the payer the customer declared" in " ".join(chosen.reasons)
    assert confirmed(found, credit("TRANSFER", amount="8420.00", payer="KAMAU P")) is not None
    # Other initials, or the initial of a name the customer did not declare, do not.
    assert confirmed(found, credit("TRANSFER", payer="J. KAMAU")) is None
    assert confirmed(found, credit("TRANSFER", payer="P. J. KAMAU")) is None


def test_initials_another_customer_could_be_owing_the_same_amount_are_not_confirmed():
    # "P. KAMAU" may as well be Paul Kamau, who owes the same: ambiguous, a person looks.
    paul = order(2, customer_id=43, proforma="PF-2026-00043", chassis="NZE161-1111111",
                 stock="KA10043", names=("Paul Kamau",))  # fmt: skip
    found = matcher(declaration(order(), payer="P. Kamau"), paul)
    suggestions = found.suggest(credit("TRANSFER", payer="P. KAMAU"))
    assert suggestions and not any(s.identified for s in suggestions)
    assert found.decide(suggestions, threshold=THRESHOLD, margin=MARGIN) is None
    # Peter Kamau paying with his full name is still his.
    other = matcher(declaration(order(), payer="Peter Kamau"), paul)
    assert confirmed(other, credit("TRANSFER", payer="PETER KAMAU")) is not None


def test_initials_with_too_many_possible_owners_are_not_confirmed(monkeypatch):
    monkeypatch.setattr(matching, "_FULL_NAME_POOL", 3)
    others = [
        order(n, customer_id=100 + n, expected="100.00", proforma=f"PF-2026-{n:05d}",
              chassis=f"NZE161-{n:07d}", stock=f"KA{n:05d}", names=(f"Pendo{n} Kamau",))
        for n in range(2, 8)
    ]  # fmt: skip
    found = matcher(declaration(order(), payer="P. Kamau"), *others)
    assert confirmed(found, credit("TRANSFER", payer="P. KAMAU")) is None


@given(
    fee=st.integers(min_value=0, max_value=90),
    days=st.integers(min_value=-5, max_value=20),
    namesake_amount=st.one_of(st.none(), st.integers(min_value=8300, max_value=8500)),
)
@hsettings(max_examples=150, deadline=None)
def test_a_declaration_without_a_reference_is_confirmed_only_within_the_rules(
    fee, days, namesake_amount
):
    """Whatever the shortfall, the date and a namesake's balance: confirmed only within the fee
    tolerance (1 %, capped at USD 65), within the agreeing days, and when no other customer of
    that name owes about as much."""
    candidates = [declaration(order(), payer="Peter Kamau", paid_on=BOOKED - timedelta(days=days))]
    if namesake_amount is not None:
        candidates.append(
            order(2, customer_id=43, expected=f"{namesake_amount}.00", proforma="PF-2026-00043",
                  chassis="NZE161-1111111", stock="KA10043", names=("Peter Kamau",))
        )  # fmt: skip
    found = matcher(*candidates)
    paid = Decimal("8450.00") - fee
    chosen = confirmed(found, credit("TRANSFER", amount=str(paid), payer="PETER KAMAU"))
    namesake_owes = namesake_amount is not None and (
        paid == namesake_amount
        or Decimal(0) < namesake_amount - paid <= min(Decimal(namesake_amount) / 100, 65)
    )
    within = fee <= 65 and fee <= Decimal("84.50") and days in matching.AGREEING_DAYS
    if chosen is not None:
        assert chosen.candidate == candidates[0]
        assert within and not namesake_owes
        assert chosen.bank_charge == fee
    else:
        # Everything agreed: then only the score can have stopped it (amount 35 or 32 short by
        # a fee, the declared payer 15, the date, the agreement 35).
        score = (35 if fee == 0 else 32) + 15 + matching.declaration_date_points(days) + 35
        assert not (within and not namesake_owes and score >= THRESHOLD), (fee, days)


def test_a_declaration_agrees_only_with_the_payer_the_customer_declared():
    # Wanjiru declared she would pay herself; her company paid. Likely fine, but company
    # names are often alike: without a reference, a person looks.
    declared = declaration(order(), payer="Wanjiru Kamau")
    chosen = confirmed(matcher(declared), credit("TRANSFER", payer="KAMAU MOTORS LTD"))
    assert chosen is None


def test_a_namesake_owing_the_same_amount_stops_a_declaration_agreeing_without_a_reference():
    namesake = order(2, customer_id=43, proforma="PF-2026-00043", chassis="NZE161-1111111",
                     stock="KA10043", names=("Wanjiru Kamau",))  # fmt: skip
    found = matcher(declaration(order()), namesake)
    suggestions = found.suggest(credit("TRANSFER"))
    assert not suggestions[0].identified
    assert found.decide(suggestions, threshold=THRESHOLD, margin=MARGIN) is None
    # With the reference, the namesake is no rival.
    assert confirmed(found, credit("PF-2026-00042")) is not None


def test_the_customers_other_order_of_the_same_amount_does_not_stop_their_declaration():
    other = order(2, proforma="PF-2026-00050", chassis="NZE161-7654321", stock="KA10050")
    declared = declaration(order())
    chosen = confirmed(matcher(declared, order(), other), credit("TRANSFER"))
    assert chosen is not None and chosen.candidate == declared


def test_a_document_number_in_the_text_that_is_not_the_declarations_stops_the_agreement():
    # The customer quoted an order number that is not this declaration's: someone else's, or
    # mistyped. A person looks.
    found = matcher(declaration(order()))
    assert confirmed(found, credit("PAYMENT ORD-2026-00777")) is None
    assert confirmed(found, credit("PAYMENT C000777")) is None
    assert confirmed(found, credit("PAYMENT JUNE")) is not None


def test_a_declaration_weeks_old_or_from_another_payer_needs_a_reference():
    old = declaration(order(), paid_on=BOOKED - timedelta(days=40))
    assert confirmed(matcher(old), credit("TRANSFER")) is None
    other_payer = declaration(order(), payer="Peter Kamau")
    assert confirmed(matcher(other_payer), credit("TRANSFER", payer="JOHN OTIENO")) is None


def test_the_reference_the_customer_declared_is_found_in_the_text():
    declared = declaration(order(), reference="MY REF 7788123")
    top = best(matcher(declared), credit("/ROC/MYREF7788123/", payer=""))
    assert top.reasons[0] == "Declared reference MY REF 7788123 found in the remittance text"


def test_every_reason_goes_through_gettext(monkeypatch):
    monkeypatch.setattr(matching, "gettext", lambda message: "~" + message)
    monkeypatch.setattr(matching, "ngettext", lambda one, many, n: "~" + (one if n == 1 else many))
    monkeypatch.setattr(matching._Phrases, "_by_language", {})  # translations are memoised
    declared = declaration(order(), payer="Peter Kamau")
    with translation.override("es"):
        top = best(
            matcher(declared), credit("TT PF-2026-00042", amount="8420", payer="PETER KAMAU")
        )
    assert len(top.reasons) == 5
    assert all(reason.startswith("~") for reason in top.reasons), top.reasons


# --- Consuming confirmed candidates -------------------------------------------------------------


def test_a_confirmed_declaration_is_no_longer_offered():
    declared = declaration(order())
    found = matcher(declared)
    found.consume(declared)
    assert found.suggest(credit("PF-2026-00042")) == []


def test_a_partly_paid_order_stays_with_the_rest_of_its_balance():
    found = matcher(order())
    found.consume(order(), amount=Decimal("5000.00"))
    top = best(found, credit("PF-2026-00042", amount="3450.00"))
    assert top.candidate.expected == Decimal("3450.00")
    assert top.score == 100
    found.consume(top.candidate, amount=Decimal("3440.00"))  # the rest, less a fee
    assert found.suggest(credit("PF-2026-00042", amount="3450.00")) == []


def test_the_second_half_of_a_split_payment_matches_what_the_declaration_left_owing():
    declared = declaration(order(), expected="4225.00")
    found = matcher(order(), declared)
    first = confirmed(found, credit("PF-2026-00042", amount="4225.00"))
    assert first is not None and first.candidate == declared
    found.consume(first.candidate, amount=Decimal("4225.00"))
    second = confirmed(found, credit("PF-2026-00042", amount="4225.00"))
    assert second is not None and second.candidate.declaration_id is None
    assert second.candidate.expected == Decimal("4225.00")


def test_an_order_consumed_without_an_amount_goes():
    found = matcher(order())
    found.consume(order())
    assert found.suggest(credit("PF-2026-00042")) == []


# --- Properties ---------------------------------------------------------------------------------

_CONFUSABLE = {"O": "0", "0": "O", "I": "1", "1": "l", "L": "1", "S": "5", "5": "S", "B": "8",
               "8": "B", "Z": "2", "2": "Z", "G": "6", "6": "G"}  # fmt: skip
reference_strategy = st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789-", min_size=8, max_size=17)


@given(st.text(max_size=60))
def test_normalising_a_reference_twice_changes_nothing(text):
    once = normalise_reference(text)
    assert normalise_reference(once) == once
    assert once.isascii() and (once == "" or once.isalnum())


@hsettings(max_examples=200)
@given(reference_strategy.filter(lambda r: any(c in _CONFUSABLE for c in r)), st.data())
def test_a_reference_with_one_ocr_confusion_still_matches(reference, data):
    positions = [i for i, char in enumerate(reference) if char in _CONFUSABLE]
    i = data.draw(st.sampled_from(positions))
    typed = reference[:i] + _CONFUSABLE[reference[i]] + reference[i + 1 :]
    assert normalise_reference(typed) == normalise_reference(reference)
    if len(normalise_reference(reference)) >= 5:
        stocked = replace(order(), references=(("chassis", reference),))
        top = matcher(stocked).suggest(credit(f"PAYMENT {typed.lower()} THANKS", payer=""))
        assert top and top[0].identified


@hsettings(max_examples=200)
@given(
    # Like chassis and stock numbers: letters, and digits (a few, so a typo leaves three).
    st.text(alphabet="ACDEFHJKMNPRTUVWXY3479", min_size=9, max_size=17).filter(
        lambda r: sum(c.isdigit() for c in r) >= 4
    ),
    st.integers(min_value=0),
    st.sampled_from(["drop", "insert", "replace"]),
)
def test_a_long_reference_with_one_character_wrong_still_corroborates(reference, at, edit):
    i = at % len(reference)
    typed = {
        "drop": reference[:i] + reference[i + 1 :],
        "insert": reference[:i] + "Q" + reference[i:],
        "replace": reference[:i] + ("Q" if reference[i] != "Q" else "W") + reference[i + 1 :],
    }[edit]
    stocked = replace(order(), references=(("chassis", reference),))
    top = best(matcher(stocked), credit(f"TT {typed}"))
    assert top.identified, top.reasons


# --- The loader ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_matcher_load_reads_pending_declarations_and_open_orders_in_a_few_queries(
    alice, sales, django_assert_max_num_queries
):
    from exportdesk.payments.models import PaymentDeclaration, PaymentSettings
    from exportdesk.sales.models import BankAccount, Order, Proforma, ProformaLine
    from tests.conftest import ensure_reference_data
    from tests.stock.factories import usd_rate, vehicle

    ensure_reference_data()
    usd_rate("150.0000")
    PaymentSettings.objects.update_or_create(pk=1, defaults={"fee_tolerance_max_jpy": 9000})
    account = BankAccount.objects.create(
        code="mufg-usd", bank_name="MUFG Bank", swift_bic="BOTKJPJT", account_number="1234567",
        account_holder="Exporter KK", currency="USD",
    )  # fmt: skip
    now = timezone.now()
    orders = []
    for n, total in enumerate(["8450.000", "5000.000"], start=1):
        car = vehicle()
        proforma = Proforma.objects.create(
            number=f"PF-2026-{n:05d}", fiscal_year=2026, verification_code=f"CODE-{n}",
            customer=alice, incoterm="CIF", destination_country="KE", currency="USD",
            total=Decimal(total), due_date=now.date() + timedelta(days=5), bank_account=account,
            bank_details=account.details(), issued_by=sales, issued_at=now,
            status=Proforma.Status.ACCEPTED,
        )  # fmt: skip
        ProformaLine.objects.create(
            proforma=proforma, position=1, kind="vehicle", vehicle=car,
            description=car.stock_number, amount=Decimal(total),
        )  # fmt: skip
        order_ = Order.objects.create(
            number=f"ORD-2026-{n:05d}", proforma=proforma, customer=alice, currency="USD",
            total=Decimal(total), created_at=now,
        )  # fmt: skip
        orders.append(order_)
    declared = PaymentDeclaration.objects.create(
        customer=alice, amount=Decimal("8450.000"), currency="USD", paid_on=now.date(),
        payer_name="Peter Wanjiru", payer_bank="Equity Bank", reference="CAR 8450",
        created_at=now, updated_at=now,
    )  # fmt: skip
    declared.orders.add(orders[0])

    with django_assert_max_num_queries(10):
        found = matcher_load()

    assert found.fee_cap["USD"] == Decimal("60.00")
    assert found.fee_ratio == Decimal("0.01")
    facts = credit(
        f"PAYMENT {orders[0].proforma.number}", amount="8430.00", payer="PETER WANJIRU",
        booked=now.date(),
    )  # fmt: skip
    top = best(found, facts)
    assert top.candidate.declaration_id == declared.pk
    assert top.candidate.order_ids == (orders[0].pk,)
    assert top.candidate.declared_payer == "Peter Wanjiru"
    assert ("customer", alice.customer_number) in top.candidate.references
    assert ("declared", "CAR 8450") in top.candidate.references
    assert top.bank_charge == Decimal("20.00")
    car = orders[1].proforma.lines.get().vehicle
    assert car is not None
    chassis = car.chassis_number
    second = best(found, credit(f"TT {chassis}", amount="5000", payer="", booked=now.date()))
    assert second.candidate.order_ids == (orders[1].pk,)
    assert second.candidate.declaration_id is None
    assert second.candidate.names == ("Alice Wanjiru", "Kamau Motors Ltd")


# --- A synthetic statement with known truth -----------------------------------------------------

_FIRST = ["Wanjiru", "Peter", "Grace", "John", "Amina", "Mohammed", "José", "María", "Chinedu",
          "Ngozi", "Kwame", "Ama", "Otieno", "Fatuma", "Yusuf", "Andile", "Thandiwe", "Tendai",
          "Rashid", "Imran", "Sergei", "Olga", "Dmitri", "Andrés", "Lucía", "Ahmed", "Hassan",
          "Zanele", "Kofi", "Abena", "Juma", "Halima", "Ravi", "Priya", "Nomvula", "Sipho"]  # fmt: skip
_LAST = ["Kamau", "Otieno", "Njeri", "Mwangi", "Okafor", "Okonkwo", "Mensah", "Boateng",
         "Hassan", "Abdullah", "García", "Müller", "Pérez", "Moyo", "Ndlovu", "Dlamini",
         "Chukwu", "Adeyemi", "Banda", "Phiri", "Mutasa", "Ivanov", "Petrov", "Smirnov",
         "Campbell", "Brown", "Williams", "Khan", "Patel", "Singh", "Osei", "Asante",
         "Nkosi", "Mahlangu", "Odhiambo", "Wambui", "Achieng", "Kiprono", "Chebet", "Rotich"]  # fmt: skip
_TRANSLIT = {"Mohammed": "MUHAMAD", "José": "JOSE", "María": "MARIA", "Müller": "MUELLER",
             "García": "GARCIA", "Pérez": "PEREZ", "Andrés": "ANDRES", "Lucía": "LUCIA",
             "Sergei": "SERGEY", "Dmitri": "DMITRIY", "Ahmed": "AHMAD"}  # fmt: skip


@dataclass
class _Case:
    facts: CreditFacts
    truth: Candidate | None


def _synthetic(
    rng: random.Random, customers: int, orders: int
) -> tuple[list[Candidate], list[_Case]]:
    """Customers, their open orders and declarations, and a statement paying most of them with
    the noise real statements have: bank fees, partial payments, typos and OCR confusions,
    missing references, relatives and companies paying, transliterations, duplicate amounts,
    and credits that belong to nobody."""
    people = []
    for customer_id in range(1, customers + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        if rng.random() < 0.5:  # a second given name or family name keeps namesakes rare
            first, last = f"{first} {rng.choice(_FIRST)}", f"{last} {rng.choice(_LAST)}"
        company = f"{last} {rng.choice(['Motors Ltd', 'Auto Trading Co., Ltd', 'Imports SRL'])}"
        people.append((customer_id, first, last, company if rng.random() < 0.4 else ""))
    candidates: list[Candidate] = []
    cases: list[_Case] = []
    for number in range(1, orders + 1):
        customer_id, first, last, company = rng.choice(people)
        currency = rng.choices(["USD", "JPY", "EUR"], [7, 2, 1])[0]
        if currency == "JPY":
            expected = Decimal(rng.randrange(600, 3000) * 1000)
        else:  # round prices: many customers owe exactly the same
            expected = Decimal(rng.randrange(60, 400) * 50)
        chassis = (
            f"{rng.choice(['ZVW30', 'NZE161', 'GRX130', 'KDH200'])}-{rng.randrange(10**6, 10**7)}"
        )
        base = Candidate(
            customer_id=customer_id,
            declaration_id=None,
            order_ids=(number,),
            expected=expected,
            currency=currency,
            references=(
                ("proforma", f"PF-2026-{number:05d}"),
                ("order", f"ORD-2026-{number:05d}"),
                ("stock", f"TS{number:06d}"),
                ("chassis", chassis),
                ("customer", f"C{customer_id:06d}"),
            ),
            names=(f"{first} {last}", company) if company else (f"{first} {last}",),
            on=BOOKED - timedelta(days=rng.randrange(5, 40)),
        )
        candidates.append(base)
        truth = base
        booked = BOOKED
        payer = _payer(rng, first, last, company)
        if rng.random() < 0.35:
            declared_payer = payer if rng.random() < 0.8 else f"{first} {last}"
            paid_on = BOOKED - timedelta(days=rng.randrange(0, 8))
            truth = replace(
                base,
                declaration_id=number,
                names=(*base.names, declared_payer),
                on=paid_on,
                declared_payer=declared_payer,
            )
            candidates.append(truth)
        if rng.random() < 0.85:
            amount = _paid(rng, expected, currency)
            text = _remittance(rng, truth)
            facts = CreditFacts(number, amount, currency, booked, text, payer, "")
            cases.append(_Case(facts, truth))
    for n in range(len(cases) // 20):  # money from nobody we know
        amount = Decimal(rng.randrange(60, 400) * 50)
        payer = f"{rng.choice(_FIRST)} {rng.choice(['Holdings', 'Logistics', 'Freight'])}"
        facts = CreditFacts(10**6 + n, amount, "USD", BOOKED, "INVOICE PAYMENT", payer, "")
        cases.append(_Case(facts, None))
    rng.shuffle(cases)
    return candidates, cases


def _payer(rng: random.Random, first: str, last: str, company: str) -> str:
    roll = rng.random()
    if roll < 0.10 and company:
        return company.upper().replace("LTD", "LIMITED")
    if roll < 0.20:  # a relative
        return f"{rng.choice(_FIRST)} {last}".upper()
    if roll < 0.25:
        return ""
    if roll < 0.30:
        return f"{first[0]}. {last}".upper()
    first, last = _TRANSLIT.get(first, first), _TRANSLIT.get(last, last)
    return rng.choice([f"{first} {last}", f"{last} {first}", f"{last}, {first}"]).upper()


def _paid(rng: random.Random, expected: Decimal, currency: str) -> Decimal:
    roll = rng.random()
    if roll < 0.30:  # intermediary fees, now and then more than accounting tolerates
        ceiling = min(expected / 100, Decimal(9000 if currency == "JPY" else 60))
        if rng.random() < 0.1:
            ceiling *= 2
        return expected - Decimal(rng.randrange(1, int(ceiling) + 1))
    if roll < 0.33:
        return (expected * Decimal("0.5")).quantize(Decimal(1))
    return expected


def _remittance(rng: random.Random, truth: Candidate) -> str:
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(["CAR PAYMENT", "PAYMENT FOR VEHICLE", "TT", ""])
    # Mostly a document of the order; now and then only the customer number.
    _kind, value = rng.choice(truth.references[:4] * 4 + truth.references[4:5])
    if rng.random() < 0.3:
        value = value.replace("-", " ").lower()
    roll = rng.random()
    if roll < 0.08:
        value = value.replace("0", "O", 1).replace("1", "I", 1)
    elif roll < 0.13 and len(value) >= 9:  # one character dropped, doubled or mistyped
        i = rng.randrange(3, len(value))
        value = rng.choice([value[:i] + value[i + 1 :], value[:i] + value[i] + value[i:],
                            value[:i] + "7" + value[i + 1 :]])  # fmt: skip
    return f"{rng.choice(['/ROC/', 'PAYMENT ', 'INV ', 'TT REF ', ''])}{value} {rng.choice(['', 'THANK YOU', 'BAL'])}"


def test_a_synthetic_statement_meets_the_precision_and_recall_targets():
    candidates, cases = _synthetic(random.Random(20260520), customers=1500, orders=4000)
    started = time.perf_counter()
    found = matcher(*candidates)
    built = time.perf_counter() - started
    confirmed_right = confirmed_wrong = wrong_customer = 0
    for case in cases:
        chosen = found.decide(found.suggest(case.facts), threshold=THRESHOLD, margin=MARGIN)
        if chosen is None:
            continue
        found.consume(chosen.candidate, amount=case.facts.amount)
        right = case.truth is not None and (
            chosen.candidate.declaration_id,
            chosen.candidate.order_ids,
        ) == (case.truth.declaration_id, case.truth.order_ids)
        confirmed_right += right
        confirmed_wrong += not right
        wrong_customer += (
            case.truth is None or case.truth.customer_id != chosen.candidate.customer_id
        )
    elapsed = time.perf_counter() - started
    matchable = sum(case.truth is not None for case in cases)
    precision = confirmed_right / max(1, confirmed_right + confirmed_wrong)
    recall = confirmed_right / matchable
    print(
        f"\n{len(candidates)} candidates, {len(cases)} credits: built in {built:.3f} s, "
        f"matched in {elapsed - built:.3f} s; precision {precision:.4%} "
        f"({confirmed_wrong} not the true candidate, {wrong_customer} the wrong customer), "
        f"recall {recall:.2%}"
    )
    assert precision >= 0.999
    assert recall >= 0.90


def test_a_declaration_of_many_orders_is_found_by_any_of_their_references():
    # A dealer declares one transfer for twenty cars: a hundred references, the last quoted.
    orders = [
        order(n, proforma=f"PF-2026-{n:05d}", chassis=f"NZE161-{n:07d}", stock=f"KA{n:05d}")
        for n in range(1, 21)
    ]
    many = replace(
        declaration(orders[0], expected="169000.00"),
        order_ids=tuple(o.order_ids[0] for o in orders),
        references=tuple(ref for o in orders for ref in o.references if ref[0] != "customer"),
    )
    assert len(many.references) > matching._POSITIONS
    found = matcher(many)
    for quoted in ("PF-2026-00001", "ORD-2026-00020", "NZE161-0000020", "KA00019"):
        top = best(found, credit(f"PAYMENT {quoted}", amount="169000.00"))
        assert top.candidate == many and top.identified, quoted
        assert quoted in top.reasons[0]


def test_of_two_runs_one_character_off_the_reason_names_the_first_in_the_text():
    # Both are one character off the chassis number; the reason must not depend on the order
    # of a set, which changes from one process to the next.
    for text in (
        "PAYMENT ZVW30-1234967 OR ZVW30-1234568",
        "PAYMENT ZVW30-1234568 OR ZVW30-1234967",
    ):
        first = text.split()[1].replace("-", "").replace("Z", "2")
        top = best(matcher(order()), credit(text))
        assert f"({first})" in top.reasons[0], top.reasons[0]
