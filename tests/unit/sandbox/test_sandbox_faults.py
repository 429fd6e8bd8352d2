"""Fault specs, call-count windows, data faults and the truth API."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.data import GOOGLE, META, SyntheticData
from sandbox.faults import CallCounter, Fault, FaultPlan, faults_from_env, parse_fault_spec
from sandbox.truth import Truth

DAY = date(2025, 3, 3)
AS_OF = date(2025, 4, 30)


def test_fail_first_n_calls_then_succeed() -> None:
    plan = FaultPlan([Fault("quota_retry", channel=GOOGLE, account="123-456-7890", times=2)])
    hits = [bool(plan.on_call(GOOGLE, "1234567890", "SearchStream")) for _ in range(4)]
    assert hits == [True, True, False, False]
    assert plan.on_call(GOOGLE, "999", "SearchStream") == []
    assert plan.on_call(META, "1234567890", "insights") == []


def test_window_from_a_later_call_and_method_filter() -> None:
    plan = FaultPlan([Fault("internal", method="insights", first_call=3, times=1)])
    hits = [bool(plan.on_call(META, "1", "insights")) for _ in range(4)]
    assert hits == [False, False, True, False]
    assert plan.on_call(META, "1", "account") == []


def test_spec_from_json_yaml_env_and_file(tmp_path: Path) -> None:
    spec = [
        {"kind": "throttle", "channel": "meta_ads", "code": 17, "fail_first": 2},
        {"kind": "row_drop", "account": "act_123", "day": "2025-03-03", "keep_fraction": 0.1},
    ]
    faults = parse_fault_spec(json.dumps(spec))
    assert faults[0].times == 2
    assert faults[0].params == {"code": 17}
    assert faults[1].account == "123"
    assert faults[1].day == DAY
    yaml_text = "faults:\n  - {kind: slow, delay_seconds: 3, method: Search}\n"
    assert parse_fault_spec(yaml_text)[0].params == {"delay_seconds": 3}
    assert len(faults_from_env({"MDP_SANDBOX_FAULTS": json.dumps(spec)})) == 2
    path = tmp_path / "faults.yaml"
    path.write_text(yaml_text)
    assert faults_from_env({"MDP_SANDBOX_FAULTS": str(path)})[0].kind == "slow"
    assert faults_from_env({}) == []
    roundtrip = parse_fault_spec([f.to_mapping() for f in faults])
    assert roundtrip == faults


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "meteor"}, "unknown fault kind"),
        ({"kind": "quota_retry", "channel": "meta_ads"}, "does not apply"),
        ({"kind": "malformed", "mode": "weird"}, "malformed mode"),
        ({"kind": "spend_spike", "first_call": 2}, "data fault"),
        ({"code": 4}, "needs a 'kind'"),
    ],
)
def test_bad_specs_are_rejected(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault.from_mapping(spec)
    with pytest.raises(ValueError, match="list of faults"):
        parse_fault_spec("kind: slow")


def test_config_from_env() -> None:
    env = {
        "MDP_SANDBOX_SEED": "9",
        "MDP_SANDBOX_AS_OF": "2025-01-02",
        "MDP_SANDBOX_META_PORT": "8700",
        "MDP_SANDBOX_FAULTS": '[{"kind": "unavailable", "times": 1}]',
    }
    config = SandboxConfig.from_env(environ=env)
    assert (config.seed, config.as_of, config.meta_port) == (9, date(2025, 1, 2), 8700)
    assert config.faults[0].kind == "unavailable"
    assert SandboxConfig.from_mapping(config.to_mapping()).faults == config.faults
    with pytest.raises(ValueError, match="unknown sandbox settings"):
        SandboxConfig.from_mapping({"sed": 1})
    with pytest.raises(ValueError, match="loopback"):
        SandboxConfig(host="0.0.0.0")


def test_call_counter() -> None:
    calls = CallCounter()
    calls.record("1", "Search")
    calls.record("1", "Search")
    calls.record("2", "SearchStream")
    assert calls.total() == 3
    assert calls.total(account="1") == 2
    assert calls.total(method="SearchStream") == 1
    assert calls.snapshot()[("1", "Search")] == 2


@pytest.fixture
def truth() -> Truth:
    return Truth(SyntheticData(seed=5), as_of=AS_OF)


def test_truth_levels(truth: Truth) -> None:
    account = truth.accounts(GOOGLE)[2].account_id  # the first account's Performance Max starts mid-month
    ad = truth.day_totals(GOOGLE, account, DAY, level="ad")
    campaign = truth.day_totals(GOOGLE, account, DAY, level="campaign")
    total = truth.day_totals(GOOGLE, account, DAY, level="account")
    assert total.cost > ad.cost  # Performance Max spend is not at ad level
    assert campaign.cost == total.cost
    assert total.rows == 1
    assert ad.rows == len([r for r in truth.records(GOOGLE, account, DAY) if r.ad_id])
    assert total.cost_micros == sum(r.cost_micros for r in truth.records(GOOGLE, account, DAY))
    week = truth.totals(GOOGLE, account, DAY, date(2025, 3, 9), level="account")
    assert week.rows == 7
    meta = truth.accounts(META)[0].account_id
    only_purchase = truth.day_totals(META, meta, DAY)
    both = truth.day_totals(META, meta, DAY, action_types=["purchase", "offsite_conversion.fb_pixel_purchase"])
    assert both.conversions == 2 * only_purchase.conversions  # the pixel purchase duplicates `purchase`


def test_data_faults_change_truth(truth: Truth) -> None:
    account = truth.accounts(META)[1].account_id
    clean = truth.day_totals(META, account, DAY)
    truth.faults.add(Fault("row_drop", account=account, day=DAY))
    truth.faults.add(Fault("spend_spike", channel=META, day=date(2025, 3, 4), params={"factor": 5}))
    dropped = truth.day_totals(META, account, DAY)
    assert 1 <= dropped.rows <= clean.rows * 0.35
    assert truth.day_totals(META, account, DAY, apply_faults=False) == clean
    spiked = truth.day_totals(META, account, date(2025, 3, 4))
    normal = truth.day_totals(META, account, date(2025, 3, 4), apply_faults=False)
    assert spiked.cost == pytest.approx(normal.cost * 5, rel=Decimal("0.01"))


def test_a_report_filter_hits_only_the_calls_of_that_report() -> None:
    plan = FaultPlan([Fault.from_mapping({"kind": "internal", "account": "111", "report": "KeywordReport"})])
    assert plan.on_call("microsoft_ads", "111", "SubmitGenerateReport", "AdReport") == []
    assert plan.on_call("microsoft_ads", "111", "SubmitGenerateReport", None) == []  # not a report call
    assert plan.on_call("microsoft_ads", "222", "SubmitGenerateReport", "KeywordReport") == []
    [hit] = plan.on_call("microsoft_ads", "111", "SubmitGenerateReport", "KeywordReport")
    assert hit.to_mapping()["report"] == "KeywordReport"
    assert Fault.from_mapping(hit.to_mapping()).report == "KeywordReport"


def test_the_sandboxes_name_a_report_as_the_faults_do() -> None:
    from xml.etree import ElementTree

    from sandbox.google_ads import report_key as google_key
    from sandbox.microsoft_ads import report_key as microsoft_key

    query = "SELECT segments.date,  customer.id FROM keyword_view\n  WHERE segments.date BETWEEN '2025-01-01' AND '2025-01-02'"
    assert google_key(query) == "SELECT segments.date, customer.id FROM keyword_view"
    assert google_key("SELECT customer.id FROM customer") == "SELECT customer.id FROM customer"
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    operation = ElementTree.fromstring(
        f'<Submit xmlns:i="{xsi}"><ReportRequest i:type="KeywordPerformanceReportRequest"/></Submit>'
    )
    assert microsoft_key(operation) == "KeywordPerformanceReportRequest"
    assert microsoft_key(ElementTree.fromstring("<Poll><ReportRequestId>1</ReportRequestId></Poll>")) is None
