"""What every benchmark shares: timing, medians, the machine description and the results document."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdp.paths import PROJECT_ROOT

DOCS_PATH = PROJECT_ROOT / "docs" / "benchmarks.md"
RESULTS_PATH = Path(__file__).resolve().parent / "results.json"  # the raw figures behind the document
QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
}


def quiet_environment() -> None:
    """No telemetry from Prefect, dbt or dlt (the network is closed; they would only log errors)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


@dataclass
class Section:
    """One benchmark's part of docs/benchmarks.md: markdown text and the raw figures behind it."""

    name: str
    markdown: str
    data: dict[str, Any] = field(default_factory=dict)


def timed(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


@dataclass(frozen=True)
class Timing:
    """One call's wall time and CPU time (all of this process's threads, plus children it waited for)."""

    wall: float
    cpu: float


def cpu_seconds() -> float:
    """User + system CPU seconds used so far by this process (every thread) and its reaped children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measured(fn: Callable[[], Any]) -> Timing:
    cpu_began = cpu_seconds()
    began = time.perf_counter()
    fn()
    wall = time.perf_counter() - began
    return Timing(wall, cpu_seconds() - cpu_began)


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def busy_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (all cores, idle and I/O wait excluded)."""
    import psutil

    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)  # already counted in user/nice
    return float(sum(times) - idle - guest)


@dataclass
class MachineLoad:
    """How busy the machine was around a run: load averages at both ends, and the CPU the *other* processes
    used meanwhile (every process's CPU minus this one's), in cores on average over the run."""

    before: tuple[float, float, float] | None
    after: tuple[float, float, float] | None = None
    wall: float = 0.0
    own_cpu: float = 0.0
    all_cpu: float = 0.0

    @property
    def others_cores(self) -> float:
        return max(0.0, self.all_cpu - self.own_cpu) / self.wall if self.wall > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "load_average_before": self.before,
            "load_average_after": self.after,
            "wall_seconds": self.wall,
            "own_cpu_seconds": self.own_cpu,
            "all_processes_cpu_seconds": self.all_cpu,
            "other_processes_cores": self.others_cores,
        }


@contextmanager
def machine_load() -> Iterator[MachineLoad]:
    """Records `MachineLoad` around the block (filled in when it ends)."""
    load = MachineLoad(load_average())
    own, everyone, began = cpu_seconds(), busy_cpu_seconds(), time.perf_counter()
    try:
        yield load
    finally:
        load.wall = time.perf_counter() - began
        load.own_cpu = cpu_seconds() - own
        load.all_cpu = busy_cpu_seconds() - everyone
        load.after = load_average()


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("nan")


def human(value: float, digits: int = 0) -> str:
    """Thousands separated by a thin space-free comma, e.g. 1,234,567."""
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and the versions that matter for the figures."""
    import duckdb
    import psutil
    import pyarrow

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}
    for module in ("dlt", "prefect", "dbt.version"):
        try:
            imported = __import__(module, fromlist=["__version__"])
            versions[module.split(".")[0] + ("-core" if module == "dbt.version" else "")] = imported.__version__
        except ImportError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
    }


class PeakRSS:
    """Samples a process's resident memory in a thread; `peak` (bytes) after `stop()`.

    `tree=True` adds the process's children (for example Prefect's temporary API server)."""

    def __init__(self, pid: int | None = None, interval: float = 0.05, tree: bool = False) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self._interval = interval
        self._tree = tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self.peak = 0

    def _sample(self) -> int:
        import psutil

        total = self._process.memory_info().rss
        if self._tree:
            for child in self._process.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    continue
        return int(total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._interval)

    def start(self) -> PeakRSS:
        self._thread.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())
        return self.peak


@contextmanager
def peak_rss(tree: bool = False) -> Iterator[PeakRSS]:
    sampler = PeakRSS(tree=tree).start()
    try:
        yield sampler
    finally:
        sampler.stop()


_MARK = "<!-- bench:{name}:{edge} -->"


def write_document(path: Path, sections: Sequence[Section], command: str, raw_path: Path = RESULTS_PATH) -> Path:
    """Write (or update) the results document: each section replaces only its own block, so running one
    benchmark keeps the others' last results. The raw figures go to `raw_path` (JSON)."""
    text = path.read_text(encoding="utf-8") if path.exists() else _skeleton()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    about = machine()
    for section in sections:
        body = (
            f"_Measured {now} with `{command}`._\n\n{section.markdown.strip()}\n"
            if section.markdown.strip()
            else "_Not run yet._\n"
        )
        start, end = _MARK.format(name=section.name, edge="start"), _MARK.format(name=section.name, edge="end")
        block = f"{start}\n{body}{end}"
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
        if pattern.search(text):
            text = pattern.sub(lambda _, block=block: block, text)
        else:
            text = text.rstrip() + f"\n\n## {section.name}\n\n{block}\n"
    machine_block = _machine_markdown(about)
    start, end = _MARK.format(name="machine", edge="start"), _MARK.format(name="machine", edge="end")
    text = re.sub(
        re.escape(start) + r".*?" + re.escape(end), lambda _: f"{start}\n{machine_block}\n{end}", text, flags=re.DOTALL
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    raw: dict[str, Any] = json.loads(raw_path.read_text(encoding="utf-8")) if raw_path.exists() else {}
    raw["machine"] = about
    for section in sections:
        raw[section.name] = {"measured_at": now, "command": command, **section.data}
    raw_path.write_text(json.dumps(raw, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


def _machine_markdown(about: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in about["versions"].items())
    return f"- CPU: {about['cpu']}, {about['cores']} cores; memory {about['memory_gb']} GB; {about['os']}\n- {versions}"


def _skeleton() -> str:
    return (Path(__file__).resolve().parent / "TEMPLATE.md").read_text(encoding="utf-8")
