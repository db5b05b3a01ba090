"""Every command the README shows works exactly as written, from a fresh clone.

``test_every_readme_command_works_in_a_fresh_clone`` clones the repository's committed HEAD into a temporary
directory and runs every command of the README's ``sh`` blocks there, in order (tests/core/readme_commands.py
says how servers and background jobs are handled). It takes several minutes and a network connection (the
clone creates its own ``.venv``), so it runs only with ``README_COMMANDS=1`` — as ``.ci/run`` does — and
writes each command's output to ``test-results/readme-commands.md``.

The commands meet a newcomer's machine: PostgreSQL commands reach a throw-away PostgreSQL server of the test's
own through the standard libpq variables (``PGHOST``/``PGPORT``, ``PGUSER=postgres``, the superuser the
README asks for). Two commands are narrowed through the environment, never edited: the whole-suite
``./scripts/test`` runs (which CI runs in full on its own) get ``PYTEST_ADDOPTS`` naming the smoke tests,
and every server is stopped once it answers ``/health``.

The other tests here run in the normal suite: the README parses into the commands expected, and the runner
tells a failing command, a server that never answers and a working one apart.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.core import readme_commands
from tests.core.test_fault_tolerance import PG_BIN, Cluster
from tests.core.test_production import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SMOKE_TESTS = "tests/core/test_smoke.py"
# What the test's own environment must not leak into a newcomer's shell.
PRIVATE = ("TEST_DATABASE_URL", "DATABASE_URL", "VENV", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "README_COMMANDS", "PORT",
           "HOST", "INSTANCE_PATH", "SECRET_KEY", "BENCH_PG_URL", "PYTHONPATH", "PG_BIN", "LOAD_DEMO_DATA",
           "AUTO_MIGRATE", "LOG_LEVEL", "PERIODIC_INTERVAL", "PYTEST_CURRENT_TEST")


def newcomer_environment(pg_port: int) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in PRIVATE and not key.startswith(("MAIL_", "PG"))}
    venv_bin = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin")
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part != venv_bin)
    env.update({"PGHOST": "127.0.0.1", "PGPORT": str(pg_port), "PGUSER": "postgres", "LC_ALL": "C.UTF-8",
                "PYTEST_ADDOPTS": SMOKE_TESTS, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


def test_the_readme_parses_into_the_commands_a_newcomer_types():
    blocks = readme_commands.parse(README.read_text())
    commands = [command for block in blocks for command in block]
    texts = [command.text for command in commands]
    assert texts[:2] == ["./scripts/run     # the app on http://127.0.0.1:8080 — SQLite, demo data, prints the logins",
                         "./scripts/test    # the whole test suite"]
    servers = {command.text.split("#")[0].strip(): command.port for command in commands if command.kind == "server"}
    assert servers["./scripts/run"] == 8080 and servers["PORT=8081 ./scripts/run"] == 8081
    assert any(port == 8080 and "serve-production" in text for text, port in servers.items())
    assert [c.port for c in commands if c.kind == "background"] == [None, None]
    # No command of the README relies on an activated virtual environment or a bare `flask`.
    for text in texts:
        assert not re.match(r"(\S+=\S+\s+)*(flask|python|gunicorn|pytest)\b", text), text


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "health").write_text("ok")
    return tmp_path


def test_the_runner_tells_failures_apart(scratch):
    readme = """
```sh
true
echo "second line"; false
```

```sh
python3 -m http.server --bind 127.0.0.1 {port}       # serves ./health: a server that works
python3 -c 'import sys; sys.exit(2)' # fake-server: exits before it answers
```
"""
    port = free_port()
    server_re = re.compile(r"http\.server|fake-server")
    run = readme_commands.run_readme(readme.replace("{port}", str(port)), scratch, {**os.environ, "LC_ALL": "C"},
                                     scratch, server_re=server_re, default_port=port)
    (true, false), (server, silent) = run.blocks
    assert true.ok and true.status == 0
    assert not false.ok and false.status == 1 and "second line" in false.output
    assert server.ok and server.verdict() == f"answered GET /health 200 on port {port}, then stopped"
    assert not silent.ok and silent.verdict() == "exited before answering /health"
    assert [command.index for command in run.failures] == [2, 4]
    assert "FAILED with exit status 1" in readme_commands.report(run.blocks)


@pytest.mark.skipif(os.environ.get("README_COMMANDS") != "1",
                    reason="runs every README command in a fresh clone (minutes): README_COMMANDS=1, as in CI")
def test_every_readme_command_works_in_a_fresh_clone(tmp_path):
    assert (PG_BIN / "initdb").exists(), f"the PostgreSQL commands need the server programs: PG_BIN={PG_BIN}"
    assert shutil.which("curl"), "the server probes need curl"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=300)
    cluster = Cluster()
    try:
        run = readme_commands.run_readme((clone / "README.md").read_text(), clone,
                                         newcomer_environment(cluster.port), tmp_path)
    finally:
        cluster.remove()
    text = readme_commands.report(run.blocks)
    results = ROOT / "test-results"
    results.mkdir(exist_ok=True)
    (results / "readme-commands.md").write_text(f"# README commands in a fresh clone\n\n{text}")
    print(text)
    assert not run.failures, "README commands that do not work as written:\n" + "\n".join(
        f"{command.index}. {command.text}: {command.verdict()}\n{command.output[-3000:]}" for command in run.failures)
