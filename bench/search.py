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

from bench.run import RESULTS_DIR, login, open_data_set, percentile

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

    size, app = open_data_set(size_name, db)
    agent = login(app, dataset.agent_name(0), dataset.PASSWORD)
    chance = random.Random(15)
    total = size.cases
    rows = []
    requests = [
        ("Number jump", [f"/search/?q=ORDCS{chance.randint(1, total):07d}" for _ in range(repeat + 3)], 302),
        ("Full-text, selective word", [f"/search/?q={chance.randint(1, total)}" for _ in range(repeat + 3)], 200),
        ("Full-text, common word (1/4 of cases)", ["/search/?q=disputed"] * (repeat + 3), 200),
        ("Quick search on the Order Cases list",
         [f"/ordercaseview/list/?q={chance.randint(1, total)}+quantity" for _ in range(repeat + 3)], 200),
        ("Quick search on the Order Case Lines list (a word of their case)",
         [f"/ordercaselineview/list/?q={chance.randint(1, total)}" for _ in range(repeat + 3)], 200),
        ("Quick search on the Order Case Lines list (common word)",
         ["/ordercaselineview/list/?q=disputed"] * (repeat + 3), 200),
    ]
    for label, urls, status in requests:
        p50, p95 = timed(agent, urls, status)
        rows.append({"label": label, "p50": p50, "p95": p95})
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
