"""Run the order desk on this machine: `./scripts/run` → http://127.0.0.1:8080 (HOST and PORT to change).

The database is SQLite in the instance folder unless DATABASE_URL says otherwise; on the first start
the demo data set is loaded and the generated logins are printed (and saved to instance/logins.txt).
The periodic work (SLA stages and notices, auto-close, mail and TMF event delivery) runs in this process
every PERIODIC_INTERVAL seconds. Without MAIL_SERVER, mail goes to a local mail sink whose messages the
Operations page shows. For production use scripts/serve-production (see README.md); this server is for
one person trying the product.
"""
import errno
import os
import socket
import sys

os.environ.setdefault("LOAD_DEMO_DATA", "1")

from app import create_app  # noqa: E402  (configuration is read from the environment at import)
from config import INSTANCE_DIR  # noqa: E402


def listen_address() -> tuple[str, int]:
    host = os.environ.get("HOST", "127.0.0.1")
    try:
        port = int(os.environ.get("PORT", "8080"))
    except ValueError:
        sys.exit(f"PORT={os.environ['PORT']!r} is not a port number; e.g. PORT=8081 ./scripts/run")
    return host, port


def refuse_busy_port(host: str, port: int) -> None:
    """Say so before the start-up work, not after it with a traceback."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = "is already in use (is the order desk already running?)" if error.errno == errno.EADDRINUSE \
                else f"cannot be used: {error.strerror}"
            sys.exit(f"Port {port} on {host} {reason}.\n"
                     f"Choose another port with PORT, e.g.: PORT={port + 1} ./scripts/run  "
                     f"(HOST=0.0.0.0 listens on every interface).")


def main() -> None:
    from werkzeug.serving import run_simple

    from app.operations.mail_sink import MailSink
    from app.operations.periodic import PeriodicSchedule

    host, port = listen_address()
    refuse_busy_port(host, port)
    sink = None if os.environ.get("MAIL_SERVER") else MailSink(INSTANCE_DIR / "mailbox").start()
    app = create_app(sink.config() if sink else None)
    interval = app.config["PERIODIC_INTERVAL_SECONDS"]
    schedule = PeriodicSchedule(app, interval).start() if interval > 0 else None
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    lines = [f"Order Operations is running on {url}  (Ctrl+C stops it; PORT and HOST choose another address)"]
    if sink:
        lines.append(f"Mail goes to a local mail sink ({sink.host}:{sink.port}), nowhere else: read it as admin on "
                     f"{url}operations/ or in {sink.directory}")
    else:
        lines.append(f"Mail goes to {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}")
    lines.append(f"Periodic work (SLA notices, auto-close, mail delivery) runs every {interval} s"
                 if schedule else "Periodic work is off (PERIODIC_INTERVAL=0): run ./scripts/flask periodic")
    print("\n".join(lines), flush=True)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if schedule:
            schedule.stop(timeout=5)
        if sink:
            sink.stop()


if __name__ == "__main__":
    main()
