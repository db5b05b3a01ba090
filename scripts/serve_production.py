"""Serve the order desk in production: gunicorn, several worker processes with threads, PostgreSQL.

    DATABASE_URL=postgresql://user:pass@db/orderdesk SECRET_KEY=… scripts/serve-production [--bind 0.0.0.0:8080]

The application is created once in the gunicorn master (``--preload``): migrations (``AUTO_MIGRATE``) and
the role sync run once per start, then the workers fork with no database connection of their own yet.
Several instances (hosts or ports) may share one PostgreSQL: give them the same ``SECRET_KEY`` so a
session cookie from one is valid on the others; record numbers come from PostgreSQL sequences, unique
across instances; start-up work is serialised across instances by a PostgreSQL advisory lock.

Options (or environment): --bind (BIND, default 127.0.0.1:8080), --workers (WEB_CONCURRENCY, default
the number of CPU cores), --threads (GUNICORN_THREADS, default 2), --timeout (GUNICORN_TIMEOUT, 30 s),
--forwarded-allow-ips (FORWARDED_ALLOW_IPS, default 127.0.0.1,::1): the TLS proxies whose
X-Forwarded-Proto is believed, so that a request that reached them over HTTPS is answered as one (with
Strict-Transport-Security); that header from anyone else is ignored.
Pages are CPU-bound and a worker's threads share one interpreter lock: a second thread overlaps the
database waits, more only queue for the lock (on 2 cores, 2 instances x 2 workers served the load test
at 119 requests/s with 2 threads each and 80 with 4).
Each worker keeps at most threads + 2 database connections. Logs: one line per request on stderr
(``app/core/request_logging.py``), no separate access log.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STARTUP_LOCK = 7_311_001  # pg_advisory_lock key: one instance migrates and syncs roles at a time


def options(argv):
    parser = argparse.ArgumentParser(description="Serve the order desk under gunicorn.")
    parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8080"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", "2")))
    parser.add_argument("--timeout", type=int, default=int(os.environ.get("GUNICORN_TIMEOUT", "30")))
    parser.add_argument("--forwarded-allow-ips", default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"))
    return parser.parse_args(argv)


def startup_lock(url: str):
    """Hold a PostgreSQL advisory lock while this instance migrates; None on SQLite."""
    if not url.startswith(("postgres://", "postgresql")):
        return None
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")
    connection = psycopg.connect(plain, autocommit=True)
    connection.execute("SELECT pg_advisory_lock(%s)", (STARTUP_LOCK,))
    return connection


def create_application(threads: int):
    from app import create_app

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        logging.warning("DATABASE_URL is not PostgreSQL: several workers on SQLite serialise every write")
    if not os.environ.get("SECRET_KEY"):
        logging.warning("SECRET_KEY is not set: sessions are valid on this host only (instance/secret_key)")
    lock = startup_lock(url)
    try:
        app = create_app({"SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True, "pool_use_lifo": True, "pool_size": threads, "max_overflow": 2,
            "pool_recycle": 1800,
        }})
    finally:
        if lock is not None:
            lock.close()
    from app.core.extensions import db
    from app.core.garbage_collection import settle_after_start

    with app.app_context():
        # No connection may cross the fork: each worker opens its own.
        for engine in db.engines.values():
            engine.dispose()
    # The factory froze the application out of the garbage collector (app/core/garbage_collection.py);
    # again now that the start-up connections are closed, before the workers fork and share those pages.
    settle_after_start()
    return app


def main(argv=None) -> int:
    args = options(argv)
    # WARNING until the factory sets LOG_LEVEL on the application's own loggers: importing it imports
    # libraries that announce themselves at INFO (Alembic names each of its plugins).
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def __init__(self):
            self.application = None
            super().__init__()

        def load_config(self):
            settings = {
                "bind": args.bind, "workers": args.workers, "threads": args.threads,
                "worker_class": "gthread", "timeout": args.timeout, "graceful_timeout": 20, "keepalive": 5,
                "forwarded_allow_ips": args.forwarded_allow_ips,
                "preload_app": True, "accesslog": None, "errorlog": "-", "loglevel": "info",
                "proc_name": "orderdesk",
                # Several instances run on one host: no shared control socket in the home directory.
                "control_socket_disable": True,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            if self.application is None:
                self.application = create_application(args.threads)
            return self.application

    Server().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
