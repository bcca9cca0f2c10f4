"""docker/: the compose file validates, the Dockerfile lints clean, and its steps really work.

No Docker engine runs on CI machines, so the image is never built here. Instead the
Dockerfile's own ENV, RUN, CMD and HEALTHCHECK lines run in a throwaway virtual environment
against the test database: if `pip install .`, the entry point or the start command broke,
this fails the same way `docker build`/`docker run` would.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
TOOLS = Path(sysconfig.get_path("scripts"))
COMPOSE_ENV = {"POSTGRES_PASSWORD": "compose-test-password", "LEDGER_SECRET_KEY": "x" * 32,
               "LEDGER_OWNER_PASSWORD": "owner-test", "LEDGER_APP_PASSWORD": "app-test",
               "LEDGER_MASTER_KEY": "5e" * 32, "LEDGER_SIGNING_KEY": "6f" * 32}


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, comments dropped, continuations joined."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(text):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def env_pairs(arguments: str) -> list[tuple[str, str]]:
    return [tuple(word.split("=", 1)) for word in shlex.split(arguments)]  # type: ignore[misc]


# ---- compose ------------------------------------------------------------------------------

def test_the_compose_file_validates_against_the_compose_specification_schema():
    tool = TOOLS / "check-jsonschema"
    result = subprocess.run(
        [str(tool), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _compose_version() -> tuple[int, ...] | None:
    """Version of the installed ``docker-compose`` (None: not installed)."""
    if shutil.which("docker-compose") is None:
        return None
    result = subprocess.run(["docker-compose", "version", "--short"], capture_output=True,
                            text=True, timeout=60)
    return tuple(int(part) for part in re.findall(r"\d+", result.stdout)[:3]) or (0,)


@pytest.mark.skipif(_compose_version() is None,
                    reason="docker-compose is not installed (the schema test still ran)")
def test_docker_compose_config_accepts_the_file(tmp_path):
    compose = COMPOSE
    if _compose_version() < (2,):  # type: ignore[operator]
        # Debian's docker-compose 1.29 predates the Compose specification's top-level `name`
        # (and only that): check the rest of the file with it, without that one line.
        text = COMPOSE.read_text()
        kept = re.sub(r"(?m)^name: .*\n", "", text)
        assert len(kept.splitlines()) == len(text.splitlines()) - 1
        compose = tmp_path / "compose.yaml"
        compose.write_text(kept)
    result = subprocess.run(["docker-compose", "-f", str(compose), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, **COMPOSE_ENV})
    assert result.returncode == 0, result.stderr


def test_compose_runs_pinned_postgres_the_api_and_a_projection_worker_with_secrets_from_env():
    text = COMPOSE.read_text()
    document = yaml.safe_load(text)
    services = document["services"]
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:\d+(-[a-z]+)?", postgres["image"]), "pin a major version"
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    for name, command in (("api", "serve"), ("worker", "project")):
        service = services[name]
        assert service["command"][:2] == ["ledger", command]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["environment"]["LEDGER_DATABASE_URL"].startswith("postgresql://")
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
    # The API and worker connect as the role that may only read and append events; the schema
    # owner runs the migrations first; the superuser only sets the roles up.
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["api"]["environment"]["LEDGER_DATABASE_URL"].startswith(
        "postgresql://ledger_app:${LEDGER_APP_PASSWORD:?")
    assert services["migrate"]["command"] == ["ledger", "migrate"]
    assert services["migrate"]["environment"]["LEDGER_DATABASE_URL"].startswith(
        "postgresql://ledger_owner:${LEDGER_OWNER_PASSWORD:?")
    assert any(volume.startswith("./postgres-roles.sh:/docker-entrypoint-initdb.d/")
               for volume in postgres["volumes"])
    roles = (ROOT / "docker" / "postgres-roles.sh").read_text()
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ledger_app" in roles
    # Every secret is a ${VARIABLE} required from the environment, never a literal.
    assert services["api"]["environment"]["LEDGER_SIGNING_KEY"].startswith("${LEDGER_SIGNING_KEY:?")
    assert services["api"]["environment"]["LEDGER_SECRET_KEY"].startswith("${LEDGER_SECRET_KEY:?")
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "pgdata" in document["volumes"]


# ---- Dockerfile ---------------------------------------------------------------------------

def test_the_dockerfile_lints_clean():
    result = subprocess.run([str(TOOLS / "hadolint"), "--failure-threshold", "info",
                             str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_the_image_is_multi_stage_slim_non_root_with_a_health_check():
    text = DOCKERFILE.read_text()
    build, runtime = stages(text)
    assert "slim" in re.search(r"ARG PYTHON_IMAGE=(\S+)", text)[1]  # type: ignore[index]
    assert runtime[0][1].startswith("${PYTHON_IMAGE}")
    final = dict((word, args) for word, args in runtime if word != "ENV")
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", final["USER"]), "run as a numeric non-root user"
    assert "/health" in final["HEALTHCHECK"]
    assert "COPY" in final and "--from=build" in final["COPY"]
    runtime_text = " ".join(args for _, args in runtime)
    for build_tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert build_tool not in runtime_text, f"{build_tool} belongs in the build stage"
    assert any(word == "RUN" and "pip" in args for word, args in build)


async def test_the_dockerfile_install_and_start_commands_work_in_a_virtual_environment(
        tmp_path, make_database):
    """Run the build stage's RUN lines and the runtime's CMD and HEALTHCHECK, outside Docker."""
    build, runtime = stages(DOCKERFILE.read_text())
    venv = tmp_path / "opt-ledger"
    workdir = tmp_path / "src"
    workdir.mkdir()
    # COPY pyproject.toml README.md ./ and COPY src ./src, as the build stage does.
    for word, args in build:
        if word == "COPY":
            *sources, _ = args.split()
            for source in sources:
                (shutil.copytree if (ROOT / source).is_dir() else shutil.copy)(
                    ROOT / source, workdir / source)
    # The dependencies are seeded from this test environment (PYTHONPATH), so pip finds them
    # installed and the test needs neither network nor a minute of downloads; the package
    # itself is really built and installed by the Dockerfile's own commands.
    seeded = os.pathsep.join(site.getsitepackages())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PIP_"))}
    for word, args in build:
        if word == "ENV":
            env.update(env_pairs(args))
    env.update(VIRTUAL_ENV=str(venv), PYTHONPATH=seeded)
    for word, args in build:
        if word == "RUN":
            result = subprocess.run(["bash", "-c", args], cwd=workdir, env=env,
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (venv / "bin" / "ledger").exists()

    # Runtime: its ENV (PATH pointing at the venv), then CMD, then HEALTHCHECK's command.
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    run_env["PYTHONPATH"] = seeded
    for word, args in runtime:
        if word == "ENV":
            for name, value in env_pairs(args):
                run_env[name] = value.replace("/opt/ledger", str(venv)).replace(
                    "$PATH", os.environ["PATH"])
    port = _free_port()
    run_env.update(LEDGER_DATABASE_URL=await make_database(), LEDGER_SECRET_KEY="s" * 32,
                   LEDGER_MASTER_KEY="5e" * 32, LEDGER_PORT=str(port), LEDGER_HOST="127.0.0.1",
                   LEDGER_DATA_DIR=str(tmp_path / "data"))
    final = {word: args for word, args in runtime}
    command = json.loads(final["CMD"])
    assert command[0] == "ledger"
    command[0] = str(venv / "bin" / "ledger")  # what PATH resolves to in the image
    server = subprocess.Popen(command, env=run_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/health", server)
        health = json.loads(final["HEALTHCHECK"].split("CMD", 1)[1].strip())
        probe = subprocess.run(health, env=run_env, capture_output=True, text=True, timeout=30)
        assert probe.returncode == 0, probe.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode in (0, 128 + signal.SIGTERM), output[-3000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.2)
