"""Upload and download of a 25 MB attachment through the full Flask stack:
``python -m bench.attachments --db sqlite|postgresql``.

A fresh small database (``bench/data/attachments.db`` or the PostgreSQL database
``orderdesk_bench_attachments``), one case, an agent logged in through the login form with CSRF on. The
request body is built before measuring, then handed to the WSGI application directly, so the figures
are the worker's own: wall time, the peak of Python allocations during the request (tracemalloc) and
how far the process's peak resident memory rose. Writes ``bench/results/attachments-<db>.md``.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import secrets
import statistics
import sys
import time
import tracemalloc

from werkzeug.test import EnvironBuilder

from bench.run import DATA_DIR, RESULTS_DIR, csrf_from, database_url, login, make_app, prepare_database

MB = 1024 * 1024
SIZE = 25 * MB


def pdf_of(size: int) -> bytes:
    """A PDF of exactly *size* bytes: a valid header and a long comment of random bytes (incompressible)."""
    head = b"%PDF-1.4\n%"
    tail = b"\n%%EOF\n"
    return head + secrets.token_bytes(size - len(head) - len(tail)).replace(b"\n", b" ") + tail


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(app, environ: dict, consume: bool) -> dict:
    """Run one request through the WSGI app; returns status, seconds, Python peak MB and peak RSS rise."""
    rss_before = max_rss_mb()
    tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    status_holder = {}

    def start_response(status, headers, exc_info=None):
        status_holder["status"] = status
        status_holder["headers"] = dict(headers)

    body = app(environ, start_response)
    received = 0
    digest = None
    try:
        if consume:
            import hashlib

            digest = hashlib.sha256()
            for chunk in body:
                received += len(chunk)
                digest.update(chunk)
        else:
            for _chunk in body:
                pass
    finally:
        if hasattr(body, "close"):
            body.close()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"status": status_holder.get("status", ""), "seconds": seconds, "cpu_seconds": cpu_seconds,
            "python_peak_mb": peak / MB,
            "rss_rise_mb": max_rss_mb() - rss_before, "bytes": received,
            "sha256": digest.hexdigest() if digest else None, "headers": status_holder.get("headers", {})}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="use this (emptied) database instead of the default one")
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()[0]
    url = args.database_url or database_url("attachments", args.db)
    prepare_database(url, rebuild=True)
    app = make_app(url)
    with app.app_context():
        from app.core.extensions import db
        from app.core.roles import AGENT
        from app.models import Account, Attachment, AttachmentContent, Contact, OrderCase, ServiceDefinition

        sm = app.appbuilder.sm
        password = secrets.token_urlsafe(12)
        user = sm.find_user(username="bench_files") or sm.add_user(
            "bench_files", "Bench", "Files", "bench_files@example.test", [sm.find_role(AGENT)], password)
        sm.reset_password(user.id, password)
        account = Account(name="Bench attachments")
        db.session.add(account)
        db.session.flush()
        contact = Contact(account=account, first_name="Pat", last_name="Bench", email="pat@bench.test")
        service = ServiceDefinition(name=f"Bench {secrets.token_hex(2)}", active=True)
        case = OrderCase(account=account, contact=contact, service=service, scope="Multiple orders", origin="List",
                         short_description="25 MB attachment", state="Work in Progress")
        db.session.add_all([contact, service, case])
        db.session.commit()
        case_id = case.id

    client = login(app, "bench_files", password)
    token = csrf_from(client.get(f"/ordercases/{case_id}").get_data(as_text=True))
    cookie = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())
    data = pdf_of(SIZE)
    uploads, downloads = [], []
    for run in range(args.repeat):
        builder = EnvironBuilder(path=f"/attachments/cases/{case_id}", method="POST", headers={"Cookie": cookie},
                                 data={"csrf_token": token, "next": f"/ordercases/{case_id}",
                                       "files": (io.BytesIO(data), f"big-{run}.pdf")})
        environ = builder.get_environ()
        builder.close()
        uploads.append(measure(app, environ, consume=False))
        with app.app_context():
            from app.core.extensions import db
            from app.models import Attachment

            attachment_id = db.session.query(Attachment.id).filter(Attachment.filename == f"big-{run}.pdf").scalar()
            if attachment_id is None:
                raise SystemExit(f"upload {run} stored nothing: {uploads[-1]['status']}")
        environ = EnvironBuilder(path=f"/attachments/{attachment_id}/download", headers={"Cookie": cookie}).get_environ()
        downloads.append(measure(app, environ, consume=True))
        import hashlib

        if downloads[-1]["sha256"] != hashlib.sha256(data).hexdigest():
            raise SystemExit("the download differs from the upload")
        with app.app_context():
            from app.core.extensions import db

            db.session.query(AttachmentContent).delete()
            db.session.query(Attachment).delete()
            db.session.commit()

    def row(label, runs):
        return {"label": label, "seconds_p50": statistics.median(r["seconds"] for r in runs),
                "seconds_max": max(r["seconds"] for r in runs),
                "cpu_seconds_p50": statistics.median(r["cpu_seconds"] for r in runs),
                "python_peak_mb": max(r["python_peak_mb"] for r in runs),
                "rss_rise_mb": max(r["rss_rise_mb"] for r in runs), "status": runs[0]["status"]}

    rows = [row("Upload 25 MB (POST /attachments/cases/<id>)", uploads),
            row("Download 25 MB (GET /attachments/<id>/download)", downloads)]
    lines = [f"# Attachments benchmark — {args.db}, {args.repeat} runs, file of {SIZE // MB} MB", "",
             f"{time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, load average {load_at_start:.1f} at the "
             f"start and {os.getloadavg()[0]:.1f} at the end (other work on the machine inflates the wall times; the "
             "CPU column is this process's own CPU time, which waiting for a core does not inflate; the database "
             "server's work is in the wall time only).", "",
             "| Request | p50 s | max s | CPU p50 s | Python peak MB | peak RSS rise MB | status |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['seconds_p50']:.2f} | {r['seconds_max']:.2f} | {r['cpu_seconds_p50']:.2f} | "
              f"{r['python_peak_mb']:.1f} | {r['rss_rise_mb']:.1f} | {r['status']} |" for r in rows]
    lines += ["", f"Process peak RSS at the end: {max_rss_mb():.0f} MB. The request body is built before measuring; "
              "the download is read chunk by chunk as a client would."]
    report = "\n".join(lines)
    print(report)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"attachments-{args.db}.md").write_text(report + "\n")
    (RESULTS_DIR / f"attachments-{args.db}.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
