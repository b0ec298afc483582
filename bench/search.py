"""Stock search benchmark (issue 3): 200,000 vehicles, the public search page's server time.

For each of a fixed set of filter/sort/page combinations it measures the search page through
Django's full request path (middleware, view, queries, template) and the same result set
fetched with one raw SQL query, and reports p50/p95 per combination and the page/raw ratio.

    python -m bench search                      # SQLite, and PostgreSQL too when DATABASE_URL is set
    BENCH_VEHICLES=20000 python -m bench search # a smaller, quicker run

Each database is loaded fresh in a child process (a new SQLite file; a new PostgreSQL database
created next to DATABASE_URL's and dropped afterwards). Targets at 200,000 vehicles: p95 at most
25 ms on SQLite for every combination, and page/raw ratio at most 4.

What the figures mean:

- Page time is wall-clock time on a machine that may be shared, and a busy machine stretches
  every p95. Each run records the 1-minute load average before and after the measurements
  (`loadavg`; the first figure still includes the benchmark's own loading) and the home page's
  time (`request_floor_ms`, below): when the floor rises, so does every page.
- The page/raw ratio target is not reachable through Django's request path, and the benchmark
  reports the real figure. The raw query of a first page takes 0.1-0.3 ms; the cheapest page
  the site serves at all, the home page through the same middleware (sessions, CSRF, locale,
  auth, messages, consent, cookie guard, CSP) and base template (navigation, language list,
  cookie banner, policy notice query), takes several milliseconds (`request_floor_ms`, measured
  in the same run). A ratio of 4 would need the whole page to take about 1 ms, a fraction of
  that floor. The search's own share (form, count, page query, cards, filter panel) is the
  page time minus the floor.
- Deep pages (page 5000: OFFSET 99,980) are bounded by the index scan that skips the earlier
  rows, about 0.1 µs a row on SQLite; they need no separate count (see stock/search.py).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 25.0
TARGET_RATIO = 4.0
WARMUP = 3
RUNS = 25

COMBINATIONS: list[dict[str, str]] = [
    {},
    {"sort": "price_asc"},
    {"sort": "price_desc"},
    {"sort": "year_desc"},
    {"sort": "mileage_asc"},
    {"page": "50"},
    {"page": "500"},
    {"page": "5000"},
    {"sort": "price_asc", "page": "2000"},
    {"make": "toyota"},
    {"make": "toyota", "model": "__prius__"},
    {"make": "nissan", "sort": "price_asc", "page": "100"},
    {"body_type": "suv", "sort": "year_desc"},
    {"year_min": "2018", "year_max": "2022"},
    {"price_min": "500000", "price_max": "1500000", "sort": "price_asc"},
    {"mileage_max": "50000", "sort": "mileage_asc"},
    {"cc_min": "2000", "fuel": "diesel"},
    {"fuel": "hybrid", "transmission": "cvt"},
    {"steering": "lhd"},
    {"drive": "4wd", "body_type": "van"},
    {"colour": "White", "seats": "7"},
    {"q": "ED0123"},
    {"q": "ZVW30-01"},
    {"q": "Prius"},
    {"q": "Premium", "sort": "price_desc"},
    {"make": "toyota", "year_min": "2020", "price_max": "2000000", "per_page": "50"},
    {"per_page": "100", "page": "10"},
]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


# --- child: one database ----------------------------------------------------------------------


def _load(count: int) -> dict[str, float]:
    from django.core.management import call_command
    from django.db import connection

    from exportdesk.stock.demo import seed_stock
    from exportdesk.stock.models import Vehicle, VehiclePhoto

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    seed_stock(count=count, batch=5000)
    # Every car has a photo row, as in real stock (the files themselves are not needed here).
    ids = list(Vehicle.objects.values_list("id", flat=True))
    for start in range(0, len(ids), 10000):
        VehiclePhoto.objects.bulk_create(
            VehiclePhoto(
                vehicle_id=i,
                position=0,
                image=f"stock/{i}/a.jpg",
                thumbnail=f"stock/{i}/a-thumb.jpg",
            )
            for i in ids[start : start + 10000]
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    loaded = time.perf_counter()
    return {"migrate_s": round(migrated - started, 1), "load_s": round(loaded - migrated, 1)}


def _resolve(params: dict[str, str]) -> dict[str, str]:
    from exportdesk.stock.models import VehicleModel

    resolved = dict(params)
    if resolved.get("model") == "__prius__":
        resolved["model"] = str(VehicleModel.objects.get(slug="prius").pk)
    return resolved


def _measure(params: dict[str, str]) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    url = "/stock/?" + urlencode(params)
    for _ in range(WARMUP):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    page_ms = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        client.get(url)
        page_ms.append((time.perf_counter() - t0) * 1000)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    body = response.content.decode()
    # The page's own result query: the one reading vehicles with LIMIT (not the count, not the
    # form's look-ups of makes and models, not the keyword's grade list).
    result_sql = next(
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "stock_vehicle" ' in q["sql"]
        and "LIMIT" in q["sql"].upper()
        and not q["sql"].upper().startswith("SELECT COUNT(")
    )
    raw_ms = []
    with connection.cursor() as cursor:
        for _ in range(WARMUP):
            cursor.execute(result_sql)
            cursor.fetchall()
        for _ in range(RUNS):
            t0 = time.perf_counter()
            cursor.execute(result_sql)
            rows = cursor.fetchall()
            raw_ms.append((time.perf_counter() - t0) * 1000)
    found = body.split('id="results-count"', 1)[1].split("</p>", 1)[0]
    return {
        "params": params,
        "found": " ".join(found.split(">", 1)[1].split())[:60],
        "rows": len(rows),
        "queries": len(captured.captured_queries),
        "page_p50_ms": round(statistics.median(page_ms), 2),
        "page_p95_ms": round(_percentile(page_ms, 95), 2),
        "raw_p50_ms": round(statistics.median(raw_ms), 3),
        "raw_p95_ms": round(_percentile(raw_ms, 95), 3),
        "ratio": round(statistics.median(page_ms) / max(statistics.median(raw_ms), 0.001), 2),
    }


def _request_floor() -> float | None:
    """p50 of the home page: the same middleware and base template, no search."""
    from django.test import Client

    client = Client()
    for _ in range(WARMUP):
        if client.get("/").status_code != 200:
            return None
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        client.get("/")
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def child(backend: str, count: int, out: Path) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    # Measure as production runs: no per-query debug bookkeeping.
    settings.DEBUG = False
    load = _load(count)
    from exportdesk.stock.models import Vehicle

    load_before = round(os.getloadavg()[0], 2)
    results = [_measure(_resolve(params)) for params in COMBINATIONS]
    floor = _request_floor()
    load_after = round(os.getloadavg()[0], 2)
    out.write_text(
        json.dumps(
            {
                "backend": backend,
                "vendor": connection.vendor,
                "vehicles": Vehicle.objects.count(),
                **load,
                "loadavg": [load_before, load_after],
                "request_floor_ms": floor,
                "combinations": results,
            }
        )
    )


# --- parent: run each backend in a fresh process ------------------------------------------------


def _run_child(backend: str, count: int, env_extra: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-search-{backend}-") as tmp:
        out = Path(tmp) / "result.json"
        env = {
            **os.environ,
            "EXPORTDESK_VAR_DIR": tmp,
            "DJANGO_SETTINGS_MODULE": "exportdesk.settings",
            "HUEY_IMMEDIATE": "1",
            "DEBUG": "1",
            **env_extra,
        }
        if backend == "sqlite":
            env.pop("DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "bench.search", "--child", backend, str(count), str(out)],
            cwd=ROOT,
            env=env,
            check=True,
        )
        return json.loads(out.read_text())


def _fresh_postgres_url(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    name = f"exportdesk_bench_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    return urlunsplit(parts._replace(path=f"/{name}")), admin, name


def _with_fresh_postgres(url: str, count: int) -> dict[str, Any]:
    import psycopg

    bench_url, admin_url, name = _fresh_postgres_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return _run_child("postgresql", count, {"DATABASE_URL": bench_url})
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _summary(run: dict[str, Any], *, apply_p95: bool) -> dict[str, Any]:
    combos = run["combinations"]
    worst_p95 = max(c["page_p95_ms"] for c in combos)
    worst_ratio = max(c["ratio"] for c in combos)
    return {
        "backend": run["backend"],
        "vehicles": run["vehicles"],
        "load_s": run["load_s"],
        "loadavg": run.get("loadavg"),
        "request_floor_ms": run.get("request_floor_ms"),
        "combinations": len(combos),
        "worst_p95_ms": worst_p95,
        "median_p50_ms": round(statistics.median(c["page_p50_ms"] for c in combos), 2),
        "worst_ratio": worst_ratio,
        "median_ratio": round(statistics.median(c["ratio"] for c in combos), 2),
        "p95_met": (worst_p95 <= TARGET_P95_MS) if apply_p95 else None,
        "ratio_met": worst_ratio <= TARGET_RATIO,
        "ratio_note": "not reachable through Django's request path: see bench/search.py",
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        child(argv[1], int(argv[2]), Path(argv[3]))
        return
    count = int(os.environ.get("BENCH_VEHICLES", "200000"))
    runs = [_run_child("sqlite", count, {})]
    if os.environ.get("DATABASE_URL"):
        runs.append(_with_fresh_postgres(os.environ["DATABASE_URL"], count))
    for run in runs:
        print(
            f"\n{run['backend']}: {run['vehicles']} vehicles (load {run['load_s']} s; "
            f"load average {run['loadavg'][0]} -> {run['loadavg'][1]}; "
            f"home page p50 {run['request_floor_ms']} ms)"
        )
        print(
            f"{'combination':<62} {'found':>24} {'q':>3} {'p50':>7} {'p95':>7} {'raw':>7} {'ratio':>6}"
        )
        for c in run["combinations"]:
            label = urlencode(c["params"]) or "(no filter)"
            print(
                f"{label[:62]:<62} {c['found'][:24]:>24} {c['queries']:>3} {c['page_p50_ms']:>7.2f} "
                f"{c['page_p95_ms']:>7.2f} {c['raw_p50_ms']:>7.3f} {c['ratio']:>6.1f}"
            )
    summaries = [_summary(run, apply_p95=run["backend"] == "sqlite") for run in runs]
    sqlite = summaries[0]
    result = {
        "benchmark": "search",
        "vehicles": count,
        "targets": {"sqlite_p95_ms_max": TARGET_P95_MS, "page_raw_ratio_max": TARGET_RATIO},
        "results": summaries,
        "pass": bool(sqlite["p95_met"])
        and all(s["ratio_met"] for s in summaries)
        and count >= 200000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
