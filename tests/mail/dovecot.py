"""A private Dovecot IMAP server on a free loopback port, with its own configuration, users and maildirs
under a temporary directory: the real server the desk mailbox tests talk to (nothing mocked).

Dovecot comes from Debian's ``dovecot-imapd`` package; when it is missing and we are root (CI), it is
installed with apt-get. It speaks plain IMAP (with STARTTLS) on ``port`` and IMAP over TLS on ``tls_port``,
with a certificate for 127.0.0.1 made for the run by ``openssl`` (``certificate`` is what a client must trust). The server runs in the foreground (``dovecot -F``) as a child of the test run
and is stopped with it. As root, its processes and mail files use the unprivileged ``dovenull`` /
``dovecot`` accounts the package creates, since Dovecot refuses mail access as root.
"""
from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
OPENSSL = "openssl"
# Debian's Diffie-Hellman parameters, shipped with the package (generating them takes minutes).
DH_PARAMETERS = Path("/usr/share/dovecot/dh.pem")
PACKAGE = "dovecot-imapd"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem
ssl_dh = <{root}/tls/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%n
first_valid_uid = 1
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {internal_user}
  }}
  unix_listener stats-writer {{
    user = {internal_user}
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""


class DovecotUnavailable(RuntimeError):
    pass


def ensure_installed() -> str:
    """The dovecot binary, installing Debian's package when it is missing and we may (root)."""
    if os.path.exists(DOVECOT):
        return DOVECOT
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise DovecotUnavailable(f"{DOVECOT} is missing; install the Debian package {PACKAGE}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", PACKAGE], check=True, env=env,
                   timeout=900, stdout=subprocess.DEVNULL)
    if not os.path.exists(DOVECOT):
        raise DovecotUnavailable(f"installing {PACKAGE} did not provide {DOVECOT}")
    return DOVECOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _accounts() -> dict:
    """Who Dovecot's processes and the mail files run as."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.getuid())
        group = grp.getgrgid(os.getgid()).gr_name
        return {"internal_user": me.pw_name, "internal_group": group, "login_user": me.pw_name,
                "uid": os.getuid(), "gid": os.getgid()}
    mail = pwd.getpwnam("dovecot")
    return {"internal_user": "dovecot", "internal_group": grp.getgrgid(mail.pw_gid).gr_name,
            "login_user": "dovenull", "uid": mail.pw_uid, "gid": mail.pw_gid}


class Dovecot:
    def __init__(self, root: Path, users: dict[str, str]):
        self.binary = ensure_installed()
        self.root = root
        self.port = _free_port()
        self.tls_port = _free_port()
        self.certificate = root / "tls" / "cert.pem"
        self.users = users
        self.process: subprocess.Popen | None = None

    def _make_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1, valid for a day: the server's TLS identity."""
        folder = self.certificate.parent
        if not shutil.which(OPENSSL) or not DH_PARAMETERS.exists():
            raise DovecotUnavailable(f"TLS for the test mailbox needs {OPENSSL} and {DH_PARAMETERS}")
        made = subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                               "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                               "-keyout", str(folder / "key.pem"), "-out", str(self.certificate)],
                              capture_output=True, timeout=60)
        if made.returncode != 0:
            raise DovecotUnavailable(f"openssl could not make a certificate: {made.stderr.decode()[-500:]}")
        shutil.copyfile(DH_PARAMETERS, folder / "dh.pem")

    def start(self) -> "Dovecot":
        accounts = _accounts()
        for folder in ("run", "state", "mail", "home", "tls"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self._make_certificate()
        (self.root / "passwd").write_text("".join(f"{user}:{{PLAIN}}{password}::::::\n"
                                                  for user, password in self.users.items()))
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, port=self.port, tls_port=self.tls_port, **accounts))
        if os.geteuid() == 0:
            os.chmod(self.root, 0o755)
            for folder in ("mail", "home"):
                shutil.chown(self.root / folder, accounts["uid"], accounts["gid"])
            os.chmod(self.root / "passwd", 0o644)
        self.process = subprocess.Popen([self.binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DovecotUnavailable(f"dovecot exited: {self.process.stderr.read().decode()} {self.log()}")
            if all(_listening(port) for port in (self.port, self.tls_port)):
                return self
            time.sleep(0.1)
        self.stop()
        raise DovecotUnavailable(f"dovecot did not listen on port {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    # -- what a mail client (or the delivery agent) does -------------------------------------------

    def client(self, user: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(user, self.users[user])
        return client

    def deliver(self, user: str, message: bytes, folder: str = "INBOX") -> None:
        """Put *message* into the user's mailbox, as delivery does (IMAP APPEND)."""
        client = self.client(user)
        try:
            client.create(folder) if folder != "INBOX" else None
            status, detail = client.append(folder, "", imaplib.Time2Internaldate(time.time()), message)
            assert status == "OK", detail
        finally:
            client.logout()

    def flags(self, user: str, folder: str = "INBOX") -> list[str]:
        """The flags of every message in the folder, in order."""
        client = self.client(user)
        try:
            client.select(folder)
            status, data = client.fetch("1:*", "(FLAGS)")
            return [line.decode() for line in data if line] if status == "OK" else []
        finally:
            client.logout()

    def empty(self, user: str, folder: str = "INBOX") -> None:
        client = self.client(user)
        try:
            client.select(folder)
            status, data = client.search(None, "ALL")
            if status == "OK" and data[0]:
                client.store(b",".join(data[0].split()).decode(), "+FLAGS", "\\Deleted")
                client.expunge()
        finally:
            client.logout()
