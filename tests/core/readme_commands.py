"""Run the commands of a README's ``sh`` code blocks exactly as written, and say which did not work.

Each block runs as one bash script (so ``export`` and ``&`` behave as in a terminal), in README order, in
one directory. The commands are not touched; the runner only adds markers and probes between them:

- a command that starts a server (``./scripts/run``, ``./scripts/serve-production``) is started in the
  background, must answer ``GET /health`` with 200 on its port (``--bind …:PORT``, ``PORT=``, else 8080)
  while still running, and is then stopped;
- a command ending in ``&`` is started in the background; whatever is still running when its block ends
  is stopped;
- every other command must exit 0 within its block's time budget.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

# Fenced sh blocks, also indented ones (inside a list item).
BLOCK_RE = re.compile(r"^([ \t]*)```sh[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)
SERVER_RE = re.compile(r"(^|[\s;&|(])(\./)?scripts/(run|serve-production)(\s|$)")
BACKGROUND_RE = re.compile(r"(?<![&|])&\s*(#.*)?$")
MARK = "@@readme-command"
MARK_RE = re.compile(rf"^{MARK} (\d+) (begin|exit) ([\d.]+)(?: (-?\d+))?$", re.M)
LONG_COMMAND_RE = re.compile(r"scripts/(test|bench|load-test)\b")


@dataclass
class Command:
    index: int
    block: int
    text: str
    kind: str  # "foreground", "server" or "background"
    port: int | None = None
    status: int | None = None  # exit status, or the probe's verdict for a server (0 = answered 200)
    output: str = ""
    seconds: float = 0.0

    @property
    def budget(self) -> int:
        return 1500 if self.kind == "server" or LONG_COMMAND_RE.search(self.text) else 300

    @property
    def ok(self) -> bool:
        return self.kind == "background" or self.status == 0

    def verdict(self) -> str:
        if self.kind == "background":
            return "started in the background"
        if self.status is None:
            return "did not finish (timed out, or the block stopped before it)"
        if self.kind == "server":
            return {0: f"answered GET /health 200 on port {self.port}, then stopped",
                    3: "exited before answering /health", 4: f"no 200 from /health on port {self.port} in time",
                    }.get(self.status, f"probe status {self.status}")
        return "exit 0" if self.status == 0 else f"FAILED with exit status {self.status}"


def join_continuations(text: str) -> list[str]:
    commands, current = [], ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1].rstrip() + " "
            continue
        current += line
        if current.strip() and not current.strip().startswith("#"):
            commands.append(current.strip())
        current = ""
    return commands


def server_port(command: str, default: int) -> int:
    bound = re.search(r"--bind[ =]\S*:(\d+)", command)
    if bound:
        return int(bound.group(1))
    port = re.search(r"(?:^|\s)PORT=(\d+)", command)
    return int(port.group(1)) if port else default


def parse(readme: str, server_re: re.Pattern = SERVER_RE, default_port: int = 8080) -> list[list[Command]]:
    """The README's sh blocks as lists of classified commands, numbered across the whole README."""
    blocks, index = [], 0
    for number, match in enumerate(BLOCK_RE.finditer(readme)):
        block = []
        for text in join_continuations(textwrap.dedent(match.group(2))):
            index += 1
            if BACKGROUND_RE.search(text):
                kind = "background"
            elif server_re.search(text):
                kind = "server"
            else:
                kind = "foreground"
            block.append(Command(index, number, text, kind,
                                 server_port(text, default_port) if kind == "server" else None))
        if block:
            blocks.append(block)
    return blocks


PRELUDE = r"""
set -m  # each background job in its own process group, so stopping one stops its workers too
__probe() {  # url pid seconds -> 0 answered 200, 3 the process exited, 4 no answer in time
    local deadline=$((SECONDS + $3))
    while (( SECONDS < deadline )); do
        kill -0 "$2" 2>/dev/null || return 3
        [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1")" = 200 ] && return 0
        sleep 1
    done
    return 4
}
__stop() {  # pid
    kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$1" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}
"""


def script(block: list[Command]) -> str:
    lines = [PRELUDE]
    for command in block:
        lines.append(f"echo '{MARK} {command.index} begin' \"$EPOCHREALTIME\"")
        if command.kind == "server":
            # On lines of their own: a trailing comment in the command must not swallow the "&".
            lines += ["{ " + command.text, "} &", "__pid=$!",
                      f"__probe http://127.0.0.1:{command.port}/health \"$__pid\" {command.budget}; __status=$?",
                      "__stop \"$__pid\"", f"echo '{MARK} {command.index} exit' \"$EPOCHREALTIME\" \"$__status\""]
        else:
            lines += [command.text, f"echo '{MARK} {command.index} exit' \"$EPOCHREALTIME\" \"$?\""]
    lines.append("for __job in $(jobs -p); do __stop \"$__job\"; done")
    return "\n".join(lines) + "\n"


def run_block(block: list[Command], cwd: Path, env: dict, log_dir: Path) -> None:
    """Run one block; fills each command's status, output and duration."""
    log_path = log_dir / f"block-{block[0].block}.log"
    budget = sum(command.budget for command in block) + 60
    with open(log_path, "w") as log:
        process = subprocess.Popen(["bash", "-c", script(block)], cwd=cwd, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(budget)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    _read_markers(block, log_path.read_text(errors="replace"))


def _read_markers(block: list[Command], output: str) -> None:
    by_index = {command.index: command for command in block}
    marks = list(MARK_RE.finditer(output))
    began: dict[int, float] = {}
    for position, mark in enumerate(marks):
        command = by_index.get(int(mark.group(1)))
        if command is None:
            continue
        at = float(mark.group(3))
        if mark.group(2) == "begin":
            began[command.index] = at
            end = marks[position + 1].start() if position + 1 < len(marks) else len(output)
            command.output = output[mark.end():end].strip("\n")
        elif mark.group(4) is not None:
            command.status = int(mark.group(4))
            command.seconds = at - began.get(command.index, at)


def report(blocks: list[list[Command]], tail: int = 25) -> str:
    out = []
    for block in blocks:
        for command in block:
            lines = command.output.splitlines()
            shown = lines[-tail:]
            out.append(f"### {command.index}. `{command.text}`\n\n{'OK' if command.ok else 'FAILED'}: "
                       f"{command.verdict()} ({command.seconds:.0f} s)\n")
            if shown:
                skipped = f"[… {len(lines) - tail} earlier lines]\n" if len(lines) > tail else ""
                out.append("```\n" + skipped + "\n".join(shown) + "\n```\n")
    return "\n".join(out)


@dataclass
class Run:
    blocks: list[list[Command]] = field(default_factory=list)

    @property
    def failures(self) -> list[Command]:
        return [command for block in self.blocks for command in block if not command.ok]


def run_readme(readme: str, cwd: Path, env: dict, log_dir: Path, server_re: re.Pattern = SERVER_RE,
               default_port: int = 8080) -> Run:
    run = Run(parse(readme, server_re, default_port))
    for block in run.blocks:
        run_block(block, cwd, env, log_dir)
    return run
