"""Search and export at scale: ``python -m bench.search --size S|L --db sqlite|postgresql``.

On the benchmark data set of ``bench.run`` (built first if missing), through the full Flask stack as a
signed-in agent: the number jump (/search/?q=ORDCS…), full-text search for a selective word (one case's
own number word) and for a common one (a quarter of all cases), and the export of the Order Cases list
filtered to 10,000 and 100,000 rows (CSV and XLSX): rows per second (by the clock and per CPU second), and
the peak of the Python heap while streaming (tracemalloc), which must not grow with the row count. Quick
search on the Order Cases and Order Case Lines lists as well. Writes
``bench/results/search-<size>-<db>.md``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import time
import tracemalloc

from bench.run import RESULTS_DIR, database_url, login, make_app, percentile, prepare_database

TARGETS = {"Number jump": "p50 ≤ 30 ms", "Full-text, selective word": "p50 ≤ 100 ms",
           "Export": "≥ 20,000 rows/s, peak memory flat"}


def timed(client, urls: list[str], expect: int) -> tuple[float, float]:
    durations = []
    for index, url in enumerate(urls):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != expect:
            raise SystemExit(f"{url} answered {response.status_code}, expected {expect}")
        if index >= 3:  # warm-up
            durations.append(elapsed)
    return statistics.median(durations), percentile(durations, 0.95)


def stream(client, url: str) -> tuple[int, float, float]:
    """Read a download chunk by chunk as a browser would; (bytes, seconds, CPU seconds of this process)."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    size = 0
    for chunk in response.response:
        size += len(chunk)
    response.close()
    return size, time.perf_counter() - started, time.process_time() - cpu


def export_url(app, rows: int, file_format: str) -> str:
    """The All cases list filtered to its newest *rows* cases (opened after the cut), as an export URL."""
    from flask_appbuilder.models.sqla.filters import FilterGreater
    from sqlalchemy import select

    from app.core.extensions import db
    from app.home.page import list_url
    from app.models import OrderCase

    with app.test_request_context():
        cut = db.session.scalar(select(OrderCase.opened_at).order_by(OrderCase.opened_at.desc())
                                .offset(rows).limit(1))
        filters = [("opened_at", FilterGreater, [cut.isoformat(sep=" ")])] if cut is not None else []
        listed = list_url(app.appbuilder, "AllCasesView", filters)
        db.session.remove()
    return listed.replace("/allcasesview/list/", f"/export/AllCasesView.{file_format}")


def run(size_name: str, db: str, repeat: int) -> list[dict]:
    from bench import dataset

    size = dataset.SIZES[size_name]
    url = database_url(size_name, db)
    prepare_database(url, False)
    app = make_app(url)
    from app.core.extensions import db as database

    with app.app_context():
        if not dataset.is_built(database.engine, size):
            dataset.build(app, size)
        dataset.ensure_schema(database.engine)
        dataset.ensure_users(size)
        database.session.remove()
    agent = login(app, dataset.agent_name(0), dataset.PASSWORD)
    chance = random.Random(15)
    total = size.cases
    rows = []
    numbers = [f"/search/?q=ORDCS{chance.randint(1, total):07d}" for _ in range(repeat + 3)]
    p50, p95 = timed(agent, numbers, 302)
    rows.append({"label": "Number jump", "p50": p50, "p95": p95})
    selective = [f"/search/?q={chance.randint(1, total)}" for _ in range(repeat + 3)]
    p50, p95 = timed(agent, selective, 200)
    rows.append({"label": "Full-text, selective word", "p50": p50, "p95": p95})
    common = ["/search/?q=disputed"] * (repeat + 3)
    p50, p95 = timed(agent, common, 200)
    rows.append({"label": "Full-text, common word (1/4 of cases)", "p50": p50, "p95": p95})
    quick = [f"/ordercaseview/list/?q={chance.randint(1, total)}+quantity" for _ in range(repeat + 3)]
    p50, p95 = timed(agent, quick, 200)
    rows.append({"label": "Quick search on the Order Cases list", "p50": p50, "p95": p95})
    quick = [f"/ordercaselineview/list/?q={chance.randint(1, total)}" for _ in range(repeat + 3)]
    p50, p95 = timed(agent, quick, 200)
    rows.append({"label": "Quick search on the Order Case Lines list (a word of their case)", "p50": p50, "p95": p95})
    quick = ["/ordercaselineview/list/?q=disputed"] * (repeat + 3)
    p50, p95 = timed(agent, quick, 200)
    rows.append({"label": "Quick search on the Order Case Lines list (common word)", "p50": p50, "p95": p95})
    for count in (10_000, 100_000):
        if count > total:
            continue
        for file_format in ("csv", "xlsx"):
            target = export_url(app, count, file_format)
            size_bytes, seconds, cpu_seconds = stream(agent, target)
            tracemalloc.start()
            stream(agent, target)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows.append({"label": f"Export {count:,} rows {file_format.upper()}", "rows_per_s": count / seconds,
                         "rows_per_cpu_s": count / cpu_seconds, "seconds": seconds, "megabytes": size_bytes / 1e6, "heap_peak_mb": peak / 1e6,
                         "rss_max_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    return rows


def render(rows: list[dict], size: str, db: str) -> str:
    load = os.getloadavg()[0]
    lines = [f"# Search and export, {size} on {db}", "",
             f"{dt.datetime.now():%Y-%m-%d %H:%M}; load average {load:.1f} at the end on a shared 2-core machine.",
             "", "| Request | p50 ms | p95 ms | target |", "|---|---:|---:|---|"]
    for row in rows:
        if "p50" in row:
            target = next((t for key, t in TARGETS.items() if row["label"].startswith(key)), "")
            lines.append(f"| {row['label']} | {row['p50']:.1f} | {row['p95']:.1f} | {target} |")
    lines += ["", "Exports: rows/s by the clock, and per CPU second of the process (the machine is shared: the clock "
              "also counts time spent waiting for a core).", "",
              "| Export | rows/s | rows/CPU s | seconds | file MB | Python heap peak MB | process max RSS MB |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if "rows_per_s" in row:
            lines.append(f"| {row['label']} | {row['rows_per_s']:,.0f} | {row['rows_per_cpu_s']:,.0f} | {row['seconds']:.1f} | "
                         f"{row['megabytes']:.1f} | {row['heap_peak_mb']:.1f} | {row['rss_max_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("S", "L"), default="S")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    rows = run(args.size, args.db, args.repeat)
    text = render(rows, args.size, args.db)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"search-{args.size}-{args.db}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
