"""The Prefect UI driven as users drive it, in headless chromium (Playwright, tests/browser.py): after `up` (what
`mdp deploy --local` runs), open the UI of the session's server, go to Deployments > rerun-local > Run > Custom
run, type a start and an end date in the parameters form, submit, follow the run until its page says Completed,
and read the `daily-summary` artifact on its Artifacts tab: it names the window and the rows the warehouse holds,
and the flow run carries exactly the typed parameters.

A browser without a saved preference lands on the V2 UI (Prefect 3.9's default, `server.ui.v2_enabled`), so
that is the UI driven here, by roles and labels wherever it has them. Where it has none: a parameter's block is
the innermost `div.group` holding its `<label>` ("start_date (Optional)"); an optional date is switched on by
its "date" tab, then typed into the picker's "Date (yyyy-MM-dd)" field; the run's state is the first
`[data-slot=badge]` coloured by state (`bg-state-*`); the artifact's content is `data-testid=markdown-display`."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from playwright.sync_api import Browser, Locator, Page, expect

from deployments.local import LocalStack, down, read_env_file, state_path, up
from mdp.config import PipelineConfig, load_config
from sandbox.config import SandboxConfig
from sandbox.runner import SandboxHandle, environment_exports, start_sandbox
from tests.e2e.conftest import PrefectServer

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.filterwarnings("ignore::ResourceWarning")]

AS_OF = dt.date(2026, 3, 1)
START, END = dt.date(2026, 2, 20), dt.date(2026, 2, 21)  # two days: the run stays short
CONNECTORS = ("google_ads", "meta_ads")
RUN_TIMEOUT_SECONDS = 900.0
RELOAD_SECONDS = 3.0
UI_TIMEOUT_MS = 60_000  # a loaded 2-core machine renders the UI slowly
FINAL_STATES = {"Completed", "Failed", "Crashed", "Cancelled"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with start_sandbox(
        SandboxConfig(
            seed=11,
            google_accounts=1,
            meta_accounts=1,
            microsoft_accounts=1,
            tiktok_accounts=1,
            linkedin_accounts=1,
            as_of=AS_OF,
        )
    ) as handle:
        yield handle


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxHandle) -> Path:
    root = tmp_path_factory.mktemp("ui-project")
    data: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "reporting_currency": "EUR",
        "warehouse": {"type": "duckdb", "path": str(root / "wh.duckdb")},
        **sandbox.pipeline_fragment(),
        "forecast": {"enabled": False},  # needs weeks of history; tests/e2e/test_deployments runs it
    }
    data["connectors"] = [c for c in data["connectors"] if c["type"] in CONNECTORS]
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def stack(prefect_api: PrefectServer, config_path: Path, sandbox: SandboxHandle) -> Iterator[LocalStack]:
    """`up` against the session's server; the worker's runs read this pipeline.yaml through $MDP_CONFIG (the
    form leaves config_path empty, as a user would) and the sandbox's secrets from the env file."""
    env_file = config_path.parent / "sandbox.env"
    env_file.write_text("\n".join(environment_exports(sandbox)) + "\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_api.api_url)
        mp.setenv("PREFECT_HOME", str(prefect_api.home))
        mp.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")
        config = load_config(config_path)
        started = up(config, env={**read_env_file(env_file), "MDP_CONFIG": str(config_path)})
        try:
            yield started
        finally:
            down(config)


@pytest.fixture
def ui(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page in the pipeline's time zone."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Paris", locale="en-US")
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def parameter_field(page: Page, name: str) -> Locator:
    """The custom run form's block for one flow parameter: the innermost `div.group` holding its label ("name"
    or "name (Optional)")."""
    label = page.locator("label", has_text=re.compile(rf"^{re.escape(name)}(\s|$)"))
    return page.locator("div.group").filter(has=label).last


def type_date(page: Page, name: str, day: dt.date) -> None:
    """Switch an optional date parameter from None to a date and type it in the date picker's text field."""
    field = parameter_field(page, name)
    field.get_by_role("tab", name="date", exact=True).click()
    field.get_by_role("button", name="Pick a date").click()
    typed = page.get_by_role("dialog").get_by_label("Date (yyyy-MM-dd)")
    typed.fill(day.isoformat())
    typed.press("Enter")
    page.keyboard.press("Escape")  # close the picker
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(field.get_by_role("button", name=re.compile(rf"\b{day:%B} {day.day}\w*, {day.year}$"))).to_be_visible()


def wait_final_state(page: Page, config: PipelineConfig) -> str:
    """Reload the run page until its state badge shows a final state; that state."""
    badge = page.locator("[data-slot=badge][class*='bg-state-']").first
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        state = badge.inner_text().strip()
        if state in FINAL_STATES:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"the run page still says {state!r}:\n{worker_log(config)}")
        page.wait_for_timeout(RELOAD_SECONDS * 1000)
        page.reload()


def worker_log(config: PipelineConfig) -> str:
    return (state_path(config).parent / "prefect-worker.log").read_text(errors="replace")[-4000:]


def warehouse_units(config_path: Path, run_id: str) -> list[list[str]]:
    """Per connector, what the warehouse holds for the run: its window (first..last day of the landed rows),
    the units the run loaded (ops.load_log), and the rows of the connector's raw tables in that window."""
    expected = []
    with duckdb.connect(str(config_path.parent / "wh.duckdb"), read_only=True) as con:
        for connector in CONNECTORS:
            tables = [
                f"raw_{connector}.{t}"
                for (t,) in con.execute(
                    "SELECT table_name FROM information_schema.columns WHERE table_schema = ? AND column_name = 'date' "
                    "ORDER BY table_name",
                    [f"raw_{connector}"],
                ).fetchall()
            ]
            union = " UNION ALL ".join(f"SELECT date FROM {t}" for t in tables)
            [(first, last, rows)] = con.execute(f"SELECT min(date), max(date), count(*) FROM ({union})").fetchall()
            [(units,)] = con.execute(
                "SELECT count(DISTINCT (table_name, account_id)) FROM ops.load_log "
                "WHERE run_id = ? AND connector = ? AND status = 'success'",
                [run_id, connector],
            ).fetchall()
            expected.append([connector, f"{first}..{last}", str(units), str(rows), "0", "0"])
    return expected


def read_run(api_url: str, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The flow run's parameters and its deployment's, through the API."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        run = client.read_flow_run(uuid.UUID(run_id))
        assert run.deployment_id is not None
        deployment = client.read_deployment(run.deployment_id)
        return dict(run.parameters), dict(deployment.parameters)


def test_a_custom_run_typed_in_the_ui_completes_and_shows_its_summary(
    prefect_api: PrefectServer, stack: LocalStack, config_path: Path, ui: Page
) -> None:
    config = load_config(config_path)
    ui.goto(stack.ui_url)  # a browser without a saved preference lands on the V2 UI (Prefect 3.9's default)
    ui.get_by_role("link", name="Deployments", exact=True).click()
    ui.get_by_role("link", name="rerun-local", exact=True).click()
    ui.get_by_role("button", name="Run", exact=True).click()
    ui.get_by_role("menuitem", name="Custom run").click()
    ui.wait_for_url(re.compile(r"/deployments/deployment/[0-9a-f-]+/run"))

    run_name = f"ui-e2e-{uuid.uuid4().hex[:8]}"
    expect(ui.get_by_label("Run Name")).not_to_have_value("")  # the generated name, once the form is ready
    ui.get_by_label("Run Name").fill(run_name)
    type_date(ui, "start_date", START)
    type_date(ui, "end_date", END)
    ui.get_by_role("button", name="Submit", exact=True).click()
    expect(ui.get_by_text(re.compile(rf"{run_name}\s+scheduled to start"))).to_be_visible()
    ui.get_by_role("button", name="View run", exact=True).click()
    ui.wait_for_url(re.compile(r"/runs/flow-run/[0-9a-f-]+"))
    found = re.search(r"/runs/flow-run/([0-9a-f-]+)", ui.url)
    assert found is not None
    run_id = found.group(1)

    parameters, defaults = read_run(prefect_api.api_url, run_id)
    typed = {k: v for k, v in parameters.items() if k not in defaults and v not in (None, False)}
    assert typed == {"start_date": START.isoformat(), "end_date": END.isoformat()}
    assert {k: parameters[k] for k in defaults} == defaults

    state = wait_final_state(ui, config)
    assert state == "Completed", f"the run page says {state}:\n{worker_log(config)}"

    ui.get_by_role("tab", name="Artifacts", exact=True).click()
    card = ui.get_by_role("link").filter(has=ui.get_by_role("heading", name="daily-summary", exact=True))
    card.click()
    ui.wait_for_url(re.compile(r"/artifacts/artifact/[0-9a-f-]+"))
    summary = ui.get_by_test_id("markdown-display")
    expect(summary.get_by_role("heading", level=1)).to_have_text(f"Daily pipeline run {run_id}")
    table = summary.locator("table").evaluate(
        "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.textContent.trim()))"
    )
    assert table[0] == ["connector", "window", "units", "rows", "quarantined", "failed"]
    assert table[1:] == warehouse_units(config_path, run_id)
    assert all(row[1] == f"{START}..{END}" for row in table[1:])
    steps = [li.inner_text() for li in summary.locator("li").all()]
    assert [s.split(":")[0] for s in steps] == ["dbt", "reconciliation", "monitoring"]
    assert all(s.split(":")[1].strip().startswith("completed") for s in steps), steps
