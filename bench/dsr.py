"""Data-subject request benchmark (issue 5): the access package and the erasure of one heavy
customer among 10,000 and among 100,000 customers.

    python -m bench dsr                       # 10,000 and 100,000 customers, SQLite
    BENCH_SIZES=2000,20000 python -m bench dsr   # a quicker run

Each size runs in its own process on a fresh database. The population (not timed, reported as
`generate_s`) is inserted in bulk: every customer has an account, a profile, two contact-history
entries and a sign-in record; every tenth has an order with its proforma and a payment
declaration. The heavy customer has 2,000 contact-history entries, 300 orders (with proformas),
1,000 payment records (600 confirmed deposits with their bank entries and journal entries, 400
pending declarations) and 50 stored transfer slips, half of them on pending declarations.

Timed: `access_package_write` of the heavy customer into memory (median of three), then one
`erasure_execute` of the same customer (it can only run once). Targets: access <= 3 s, erasure
<= 2 s, and each at 100,000 customers <= 1.5 x its time at 10,000.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_ACCESS_S = 3.0
TARGET_ERASURE_S = 2.0
TARGET_SCALING = 1.5
HEAVY_CONTACTS = 2000
HEAVY_ORDERS = 300
HEAVY_CONFIRMED = 600
HEAVY_PENDING = 400
HEAVY_FILES = 50
BATCH = 5000


def _generate(customers: int) -> int:
    """Insert the population; return the heavy customer's id."""
    from django.contrib.auth.hashers import make_password
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import transaction

    from exportdesk.accounts.models import CustomerProfile, SecurityEvent, User
    from exportdesk.core.bulk import ids_reserve, rows_insert
    from exportdesk.messaging.models import ContactEvent
    from exportdesk.payments.models import (
        BankStatement,
        BankTransaction,
        Deposit,
        JournalEntry,
        PaymentDeclaration,
        StatementImport,
    )
    from exportdesk.sales.models import BankAccount

    now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    password = make_password("bench-password")
    with transaction.atomic():
        bank = BankAccount.objects.create(
            code="bench-usd",
            bank_name="MUFG Bank",
            branch_name="Yokohama",
            account_holder="Exporter",
            account_number="1234567",
            swift_bic="BOTKJPJT",
            currency="USD",
        )
        staff = User.objects.create_user("staff@bench.example", "x", name="Staff", is_staff=True)
    user_ids: list[int] = []
    for start in range(0, customers, BATCH):
        size = min(BATCH, customers - start)
        with transaction.atomic():
            ids = ids_reserve(User, size)
            rows_insert(
                User,
                [
                    {
                        "id": pk,
                        "email": f"customer{pk}@bench.example",
                        "name": f"Customer {pk}",
                        "password": password,
                        "is_active": True,
                        "is_staff": False,
                        "is_superuser": False,
                        "date_joined": now,
                        "language": "en",
                    }
                    for pk in ids
                ],
            )
            rows_insert(
                CustomerProfile,
                [
                    {
                        "user_id": pk,
                        "country": "KE",
                        "company": f"Company {pk}",
                        "address": f"{pk} Moi Avenue, Mombasa",
                        "phone": f"+254 700 {pk:06d}",
                        "adult_attested_at": now,
                        "updated_at": now,
                    }
                    for pk in ids
                ],
            )
            rows_insert(
                ContactEvent,
                [
                    {
                        "customer_id": pk,
                        "email": f"customer{pk}@bench.example",
                        "kind": "email",
                        "direction": "out",
                        "subject": f"Hello {n}",
                        "body": "Thank you",
                        "visible_to_customer": True,
                        "created_at": now,
                    }
                    for pk in ids
                    for n in range(2)
                ],
            )
            rows_insert(
                SecurityEvent,
                [
                    {
                        "user_id": pk,
                        "email_tried": f"customer{pk}@bench.example",
                        "kind": "login",
                        "ip_address": "203.0.113.7",
                        "user_agent": "bench",
                        "created_at": now,
                    }
                    for pk in ids
                ],
            )
            _orders(ids[::10], bank.pk, staff.pk, now, 1)
        user_ids.extend(ids)
    heavy = user_ids[len(user_ids) // 2]
    with transaction.atomic():
        rows_insert(
            ContactEvent,
            [
                {
                    "customer_id": heavy,
                    "email": f"customer{heavy}@bench.example",
                    "kind": "email",
                    "direction": "in",
                    "subject": f"Question {n}",
                    "body": "When does the ship sail?",
                    "visible_to_customer": True,
                    "created_at": now - timedelta(minutes=n),
                }
                for n in range(HEAVY_CONTACTS)
            ],
        )
        order_ids = _orders([heavy], bank.pk, staff.pk, now, HEAVY_ORDERS)
        imported = StatementImport.objects.create(
            bank_account=bank,
            file_name="bench.sta",
            sha256="0" * 64,
            file_format="mt940",
            imported_at=now,
        )
        statement = BankStatement.objects.create(
            statement_import=imported,
            bank_account=bank,
            account_identification="1234567",
            currency="USD",
            opening_date=date(2026, 11, 1),
            opening_balance=Decimal(0),
            closing_date=date(2026, 11, 1),
            closing_balance=Decimal(0),
            entry_count=0,
            difference=Decimal(0),
            fingerprint="bench",
        )
        slips = []
        for n in range(HEAVY_FILES):
            name = default_storage.save(
                f"slips/bench-{n}.pdf", ContentFile(b"%PDF-1.4\n% slip of the heavy customer\n")
            )
            slips.append(name)
        declarations = ids_reserve(PaymentDeclaration, HEAVY_CONFIRMED + HEAVY_PENDING)
        rows_insert(
            PaymentDeclaration,
            [
                {
                    "id": pk,
                    "public_id": _uuid(pk),
                    "customer_id": heavy,
                    "amount": Decimal("1500.00"),
                    "currency": "USD",
                    "paid_on": date(2026, 10, 30),
                    "payer_name": "HEAVY CUSTOMER",
                    "payer_bank": "Equity Bank",
                    "reference": f"PF-{n}",
                    "slip": slips[n] if n < HEAVY_FILES else "",
                    "slip_content_type": "application/pdf",
                    "status": "confirmed" if n < HEAVY_CONFIRMED else "pending",
                    "created_at": now,
                    "updated_at": now,
                }
                for n, pk in enumerate(declarations)
            ],
        )
        rows_insert(
            PaymentDeclaration.orders.through,
            [
                {"paymentdeclaration_id": pk, "order_id": order_ids[n % len(order_ids)]}
                for n, pk in enumerate(declarations)
            ],
        )
        transactions = ids_reserve(BankTransaction, HEAVY_CONFIRMED)
        rows_insert(
            BankTransaction,
            [
                {
                    "id": pk,
                    "statement_id": statement.pk,
                    "bank_account_id": bank.pk,
                    "booking_date": date(2026, 11, 1),
                    "amount": Decimal("1500.00"),
                    "currency": "USD",
                    "remittance": f"PAYMENT PF-{n}",
                    "counterparty_name": "HEAVY CUSTOMER",
                    "counterparty_account": "KE00EQBL0000000001",
                    "fingerprint": f"bench-{n}",
                    "status": "confirmed",
                }
                for n, pk in enumerate(transactions)
            ],
        )
        entries = ids_reserve(JournalEntry, HEAVY_CONFIRMED)
        rows_insert(
            JournalEntry,
            [
                {"id": pk, "kind": "receipt", "memo": f"Deposit {n}", "created_at": now}
                for n, pk in enumerate(entries)
            ],
        )
        rows_insert(
            Deposit,
            [
                {
                    "customer_id": heavy,
                    "transaction_id": transactions[n],
                    "declaration_id": declarations[n],
                    "currency": "USD",
                    "received": Decimal("1500.00"),
                    "bank_charge": Decimal(0),
                    "amount": Decimal("1500.00"),
                    "payer_name": "HEAVY CUSTOMER",
                    "payer_account": "KE00EQBL0000000001",
                    "third_party": False,
                    "confirmed_at": now,
                    "entry_id": entries[n],
                }
                for n in range(HEAVY_CONFIRMED)
            ],
        )
    return heavy


def _orders(
    customer_ids: list[int], bank_id: int, staff_id: int, now: datetime, per_customer: int
) -> list[int]:
    from exportdesk.core.bulk import ids_reserve, rows_insert
    from exportdesk.sales.models import Order, Proforma

    owners = [c for c in customer_ids for _ in range(per_customer)]
    proformas = ids_reserve(Proforma, len(owners))
    rows_insert(
        Proforma,
        [
            {
                "id": pk,
                "number": f"PF-B-{pk:07d}",
                "fiscal_year": 2026,
                "verification_code": f"B{pk:011d}",
                "customer_id": owner,
                "incoterm": "CIF",
                "destination_country": "KE",
                "currency": "USD",
                "jpy_rate": Decimal("152.3"),
                "total": Decimal("9800.00"),
                "due_date": date(2026, 11, 8),
                "bank_account_id": bank_id,
                "bank_details": {},
                "status": "accepted",
                "issued_by_id": staff_id,
                "issued_at": now,
                "notes": "",
            }
            for pk, owner in zip(proformas, owners, strict=True)
        ],
    )
    orders = ids_reserve(Order, len(owners))
    rows_insert(
        Order,
        [
            {
                "id": pk,
                "number": f"ORD-B-{pk:07d}",
                "proforma_id": proforma,
                "customer_id": owner,
                "currency": "USD",
                "total": Decimal("9800.00"),
                "status": "open",
                "created_at": now,
            }
            for pk, proforma, owner in zip(orders, proformas, owners, strict=True)
        ],
    )
    return orders


def _slip_of(n: int, slips: list[str]) -> str:
    """Half the slips belong to confirmed payments (kept with the books), half to pending ones
    (deleted from storage by the erasure)."""
    half = len(slips) // 2
    if n < half:
        return slips[n]
    if HEAVY_CONFIRMED <= n < HEAVY_CONFIRMED + len(slips) - half:
        return slips[half + n - HEAVY_CONFIRMED]
    return ""


def _uuid(n: int) -> str:
    import uuid

    return str(uuid.UUID(int=n))


def child(customers: int, out: Path) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.DEBUG = False
    from exportdesk.accounts.models import User
    from exportdesk.privacy.access import access_package_write
    from exportdesk.privacy.erasure import erasure_execute
    from exportdesk.privacy.subjects import subject_for_user

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    heavy = _generate(customers)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    generated = time.perf_counter() - t0
    user = User.objects.get(pk=heavy)
    if os.environ.get("BENCH_PROFILE"):
        _profile(user)
    access_times = []
    size = 0
    for _ in range(3):
        buffer = io.BytesIO()
        t1 = time.perf_counter()
        access_package_write(subject_for_user(user), buffer)
        access_times.append(time.perf_counter() - t1)
        size = buffer.tell()
    t2 = time.perf_counter()
    record = erasure_execute(subject_for_user(user), actor=None, trigger="benchmark")
    erased = time.perf_counter() - t2
    out.write_text(
        json.dumps(
            {
                "vendor": connection.vendor,
                "customers": customers,
                "generate_s": round(generated, 1),
                "access_s": round(statistics.median(access_times), 3),
                "access_bytes": size,
                "erasure_s": round(erased, 3),
                "erasure_summary": record.summary["models"],
            }
        )
    )


def _profile(user: Any) -> None:
    """BENCH_PROFILE=1: where the access package spends its time, and each query's time."""
    import cProfile
    import pstats

    from django.db import connection

    from exportdesk.privacy.access import access_package_write
    from exportdesk.privacy.subjects import subject_for_user

    with connection.execute_wrapper(_slow_queries), cProfile.Profile() as profile:
        access_package_write(subject_for_user(user), io.BytesIO())
    pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(25)


def _slow_queries(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        took = time.perf_counter() - started
        if took > 0.02:
            print(f"{took * 1000:7.1f} ms  {sql[:300]}", file=sys.stderr)


def _run_size(customers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-dsr-") as tmp:
        out = Path(tmp) / "result.json"
        env = {
            **os.environ,
            "EXPORTDESK_VAR_DIR": tmp,
            "DJANGO_SETTINGS_MODULE": "exportdesk.settings",
            "HUEY_IMMEDIATE": "0",
            "DEBUG": "1",
        }
        env.pop("DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "bench.dsr", "--child", str(customers), str(out)],
            cwd=ROOT,
            env=env,
            check=True,
        )
        return dict(json.loads(out.read_text()))


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        child(int(argv[1]), Path(argv[2]))
        return
    small, large = (int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(","))
    runs = [_run_size(small), _run_size(large)]
    for run in runs:
        print(json.dumps(run))
    access_ratio = runs[1]["access_s"] / runs[0]["access_s"]
    erasure_ratio = runs[1]["erasure_s"] / runs[0]["erasure_s"]
    result = {
        "benchmark": "dsr",
        "backend": runs[0]["vendor"],
        "results": [
            {k: r[k] for k in ("customers", "generate_s", "access_s", "erasure_s")} for r in runs
        ],
        "access_ratio": round(access_ratio, 2),
        "erasure_ratio": round(erasure_ratio, 2),
        "targets": {
            "access_s_max": TARGET_ACCESS_S,
            "erasure_s_max": TARGET_ERASURE_S,
            "ratio_max": TARGET_SCALING,
        },
        "pass": all(
            r["access_s"] <= TARGET_ACCESS_S and r["erasure_s"] <= TARGET_ERASURE_S for r in runs
        )
        and access_ratio <= TARGET_SCALING
        and erasure_ratio <= TARGET_SCALING
        and large >= 100000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
