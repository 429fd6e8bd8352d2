"""The worker image without a Docker engine: the Dockerfile's builder steps (its COPY lines and `uv sync`
commands) are replayed into a temporary /app and a clean virtual environment from the same uv.lock
(offline, from uv's cache), then its runtime steps (the build-time `dbt parse`, the HEALTHCHECK, the
default command) run there, and every deployment entrypoint of prefect.yaml loads as a worker loads it.

Not covered here (only a real build shows them): the base image, the `uv` image's binary, file ownership
and the non-root user."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from mdp.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

UV = Path(sys.executable).parent / "uv"
APP = "/app"
VENV = "/opt/venv"


@dataclass
class Stage:
    """One stage of the Dockerfile, its instructions with continuation lines joined."""

    instructions: list[tuple[str, str]] = field(default_factory=list)

    def each(self, keyword: str) -> list[str]:
        return [args for name, args in self.instructions if name == keyword]


def dockerfile_stages() -> list[Stage]:
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    stages: list[Stage] = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append(Stage())
        stages[-1].instructions.append((keyword.upper(), " ".join(args.split())))
    return stages


def env_assignments(args: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(args))


@dataclass
class Image:
    root: Path
    app: Path
    venv: Path
    env: dict[str, str]

    def path(self, text: str) -> str:
        """An image path (/app, /opt/venv, /tmp) as it is in this replay."""
        text = text.replace("/tmp/", f"{self.root}/tmp/")
        return text.replace(VENV, str(self.venv)).replace(APP, str(self.app))

    def run(
        self, argv: list[str], timeout: float = 300, cwd: str | Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            cwd=cwd or self.app,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def uv_sync(args: str, app: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`uv sync ...` from the Dockerfile, offline from the cache first; from the registry if the cache lacks
    a package (a fresh machine)."""
    argv = [str(UV), *shlex.split(args)[1:]]
    offline = subprocess.run(
        [*argv, "--offline"], cwd=app, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if offline.returncode == 0 or "network connectivity is disabled" not in offline.stderr.lower():
        return offline
    return subprocess.run(argv, cwd=app, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    builder, runtime = dockerfile_stages()
    root = tmp_path_factory.mktemp("image")
    app, venv = root / "app", root / "venv"
    app.mkdir()
    (root / "tmp").mkdir()
    (root / "home").mkdir()
    base = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(root / "home"),
        "LANG": "C.UTF-8",
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR")
        or subprocess.check_output([str(UV), "cache", "dir"], text=True).strip(),
        "UV_PYTHON": sys.executable,  # the image's interpreter is CPython 3.11, like this one
    }
    build_env = dict(base)
    for keyword, args in builder.instructions:
        if keyword == "ENV":
            build_env.update(env_assignments(args))
    build_env.update(
        UV_PROJECT_ENVIRONMENT=str(venv),
        UV_LINK_MODE="hardlink",  # the same file system as uv's cache: seconds instead of a 1 GB copy
        UV_COMPILE_BYTECODE="0",
    )
    assert builder.each("WORKDIR") == [APP]
    for keyword, args in builder.instructions:
        if keyword == "COPY" and not args.startswith("--from"):
            *sources, destination = args.split()
            target = app / destination.removeprefix("./")
            for source in sources:
                origin = PROJECT_ROOT / source
                if origin.is_dir():
                    shutil.copytree(
                        origin, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__")
                    )
                else:
                    shutil.copy2(origin, target / source if destination.endswith("/") else target)
        elif keyword == "RUN":
            command = args.split(" uv ", 1)[-1] if " uv sync" in args else args
            assert command.startswith("sync "), f"a builder RUN step this replay does not know: {args}"
            result = uv_sync(f"uv {command}", app, build_env)
            assert result.returncode == 0, f"uv {command}:\n{result.stderr[-3000:]}"

    env = dict(base)
    env.pop("UV_PYTHON")
    env["PREFECT_HOME"] = str(root / "home" / ".prefect")
    img = Image(root, app, venv, env)
    for keyword, args in runtime.instructions:
        if keyword == "ENV":
            env.update({k: img.path(v.replace("$PATH", env["PATH"])) for k, v in env_assignments(args).items()})
    assert runtime.each("WORKDIR") == [APP]
    for args in runtime.each("RUN"):
        if args.startswith("useradd "):
            continue
        result = img.run(["sh", "-c", img.path(args)], timeout=600)
        assert result.returncode == 0, f"RUN {args}:\n{(result.stdout + result.stderr)[-3000:]}"
    return img


def test_the_locked_runtime_environment_is_the_projects_without_dev_tools(image: Image) -> None:
    result = image.run(["python", "-c", "import sys; print(sys.prefix)"])
    assert Path(result.stdout.strip()) == image.venv
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    where = "import importlib.util, json, sys; json.dump({p: getattr(importlib.util.find_spec(p), 'origin', None) for p in sys.argv[1:]}, sys.stdout)"
    result = image.run(["python", "-P", "-c", where, *packages], cwd="/")
    assert result.returncode == 0, result.stderr[-3000:]
    origins = json.loads(result.stdout)
    outside = {p: o for p, o in origins.items() if o is None or not Path(o).is_relative_to(image.app)}
    # Paths in mdp.paths come from the package's location: it must be the project tree in /app.
    assert outside == {}, f"packages of the project the image does not import from /app: {outside}"
    site = next(image.venv.glob("lib/python3.*/site-packages"))
    # Dev tools stay out of the image.
    for tool in ("pytest", "ruff", "mypy", "hypothesis"):
        assert not (site / tool).exists(), f"{tool} is installed in the runtime environment"


PROBE = r"""
import importlib, json, os, pkgutil, sys
from prefect.flows import load_flow_from_entrypoint

os.chdir(sys.argv[2])  # the deployments' pull step: set_working_directory
loaded = {e: load_flow_from_entrypoint(e).name for e in json.loads(sys.argv[1])}
import flows
modules = sorted(m.name for m in pkgutil.iter_modules(flows.__path__))
for name in modules:
    importlib.import_module(f"flows.{name}")
import dbt.cli.main, prefect_dbt, duckdb, prefect_gcp.workers.cloud_run_v2, prefect_slack, warehouse.bigquery
from deployments.cloud_run import base_job_template
from mdp.paths import TRANSFORMATIONS_DIR
base_job_template()
json.dump({
    "loaded": loaded,
    "modules": modules,
    "dbt_project": str(TRANSFORMATIONS_DIR / "dbt_project.yml"),
    "dbt_project_exists": (TRANSFORMATIONS_DIR / "dbt_project.yml").is_file(),
}, sys.stdout)
"""


def test_every_deployment_entrypoint_loads_in_the_image_as_the_worker_loads_it(image: Image) -> None:
    spec = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    entrypoints = sorted({d["entrypoint"] for d in spec["deployments"]})
    directories = {
        step["prefect.deployments.steps.set_working_directory"]["directory"]
        for d in spec["deployments"]
        if d["work_pool"]["name"] != "mdp-process"
        for step in d["pull"]
    }
    assert directories == {APP}
    # `python -P`: like the `prefect` console script, the current directory is not put on sys.path.
    result = image.run(["python", "-P", "-c", PROBE, json.dumps(entrypoints), str(image.app)])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["loaded"] == {
        "flows/daily.py:daily_pipeline": "daily_pipeline",
        "flows/forecast.py:forecast_pacing": "forecast_pacing",
        "flows/ingest.py:ingest_connector": "ingest",
        "flows/monitor.py:volume_monitor": "volume_monitor",
        "flows/transform.py:dbt_build": "dbt_build",
    }
    assert {"daily", "ingest", "monitor", "transform"} <= set(report["modules"])
    assert report["dbt_project_exists"], f"the flows look for the dbt project at {report['dbt_project']}"


def test_the_images_healthcheck_and_default_command_pass(image: Image) -> None:
    _, runtime = dockerfile_stages()
    (healthcheck,) = runtime.each("HEALTHCHECK")
    (command,) = runtime.each("CMD")
    probe = json.loads(healthcheck.split(" CMD ", 1)[1])
    result = image.run(probe, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    result = image.run(json.loads(command), timeout=120)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "valid" in result.stdout
