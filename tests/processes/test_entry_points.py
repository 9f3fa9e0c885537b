"""The commands and the wiring import no web stack (tests/unit and ``check`` stay light);
``python server.py`` answers --help, bad usage and expected failures without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT, Finished, run_server_command

WEB_STACK = ("starlette", "strawberry", "uvicorn", "graphql")


def run(*arguments: str, env: dict[str, str] | None = None) -> Finished:
    return run_server_command(*arguments, env=env)


@pytest.mark.parametrize("module", ["wiring", "cli", "settings", "key_files"])
def test_the_module_imports_no_web_stack(module: str) -> None:
    script = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({WEB_STACK!r})))"
    found = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_help_lists_every_command() -> None:
    answer = run("--help")
    assert answer.status == 0
    for command in COMMANDS:
        assert command in answer.stdout


COMMANDS = ["serve", "check", "migrate", "purge", "unlock-account", "reset-second-factors", "generate-key"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    answer = run(command, "--help")
    assert answer.status == 0, answer.stderr
    assert answer.stdout.startswith(f"usage: python server.py {command}")


@pytest.mark.parametrize(
    "arguments", [("serve", "--port", "9999"), ("check", "extra"), ("unlock-account",), ("no-such-command",)]
)
def test_wrong_or_extra_arguments_are_a_usage_error(arguments: tuple[str, ...]) -> None:
    answer = run(*arguments)
    assert answer.status == 2
    assert "usage: python server.py" in answer.stderr
    assert "Traceback" not in answer.stderr


@pytest.mark.parametrize("command", ["migrate", "purge", "serve"])
def test_an_unreachable_database_is_one_line(tmp_path: Path, command: str) -> None:
    unreachable = {"DATABASE_URL": "postgres://nobody@127.0.0.1:9/none", "DATA_DIR": str(tmp_path), "PORT": "8799"}
    answer = run(command, env=unreachable)
    assert answer.status == 1
    assert "Traceback" not in answer.stderr
    assert answer.stderr.startswith("cannot use the postgres database of DATABASE_URL:"), answer.stderr
    assert len(answer.stderr.strip().splitlines()) == 1
