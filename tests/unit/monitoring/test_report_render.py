"""The report page without a browser: self-contained, safe against hostile names, honest about missing
marts, and reading only mart columns the dbt project declares."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from flows import report_queries
from flows.monitor import VOLUME_CHECKS
from flows.report import FIXED_COLORS, ReportData, channel_colors, channel_label, channel_lookbacks, render
from mdp.config import config_from_mapping
from mdp.paths import TRANSFORMATIONS_DIR

HOSTILE = '</script><script>alert("x")</script><img src=x>'


def data(**kw: object) -> ReportData:
    values: dict[str, object] = {
        "generated_at": "2025-03-20T06:00:00+00:00",
        "currency": "EUR",
        "period": ("2025-03-01", "2025-03-02"),
        "channel_daily": [
            {"day": "2025-03-01", "channel": "google_ads", "spend": 10.0, "revenue": 30.0},
            {"day": "2025-03-01", "channel": "meta_ads", "spend": 5.0, "revenue": 20.0},
        ],
        "top_by_spend": [
            {
                "channel": "google_ads",
                "account_id": "1",
                "account_name": HOSTILE,
                "campaign_id": "c",
                "campaign_name": HOSTILE,
                "spend": 10.0,
                "revenue": 30.0,
                "roas": 3.0,
            },
        ],
    }
    values.update(kw)
    return ReportData(**values)  # type: ignore[arg-type]


def embedded(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match is not None
    return dict(json.loads(match.group(1)))


def test_the_page_needs_no_network() -> None:
    page = render(data(top_by_spend=[]))
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "@import" not in page
    assert "url(" not in page


def test_names_cannot_break_out_of_the_data_script() -> None:
    page = render(data())
    assert HOSTILE not in page
    assert page.count("</script>") == 2
    assert embedded(page)["top_by_spend"][0]["campaign_name"] == HOSTILE  # type: ignore[index]


def test_missing_marts_are_announced() -> None:
    page = render(data(marts_missing=[report_queries.MART_CHANNEL_DAILY], channel_daily=[], top_by_spend=[]))
    assert 'id="marts-missing"' in page
    assert "Marts not built yet" in page
    assert 'id="checks-missing"' in page
    assert 'id="marts-missing"' not in render(data())


def _declared_columns() -> dict[str, set[str]]:
    declared: dict[str, set[str]] = {}
    # the marts' properties: beside their SQL, or in mart_properties/ for those that carry passthrough metrics
    paths = [
        *(TRANSFORMATIONS_DIR / "models" / "marts").glob("*.yml"),
        *(TRANSFORMATIONS_DIR / "mart_properties").rglob("*.yml"),
    ]
    for path in paths:
        for model in yaml.safe_load(Path(path).read_text()).get("models", []):
            declared[model["name"]] = {c["name"] for c in model.get("columns", [])}
    return declared


def test_the_queries_read_declared_mart_columns() -> None:
    declared = _declared_columns()
    for table, columns in report_queries.MART_COLUMNS.items():
        model = table.split(".")[1]
        assert model in declared, f"{model} is not a mart of transformations/models/marts"
        assert set(columns) <= declared[model], set(columns) - declared[model]
        for column in columns:
            assert (
                column
                in report_queries.CHANNEL_DAILY
                + report_queries.CHANNEL_TOTALS
                + report_queries.CAMPAIGN_TOTALS
                + report_queries.LAST_DAY
            )


def test_the_checks_query_reads_the_declared_table() -> None:
    assert VOLUME_CHECKS.name == report_queries.VOLUME_CHECKS
    selected = report_queries.LAST_RUN_CHECKS.split("from")[0].replace("select", "")
    assert {c.strip() for c in selected.split(",")} <= set(VOLUME_CHECKS.schema.names)


def test_channels_keep_their_colours_and_new_ones_get_distinct_colours() -> None:
    colors = channel_colors(["google_ads", "meta_ads", "microsoft_ads", "tiktok_ads", "all channels"])
    assert {k: colors[k] for k in FIXED_COLORS} == FIXED_COLORS
    assert len(set(colors.values())) == 5
    assert channel_colors(["microsoft_ads"]) == {"microsoft_ads": colors["microsoft_ads"]}  # stable, by name
    assert channel_label("microsoft_ads") == "Microsoft Ads"
    assert channel_label("tiktok_ads") == "TikTok Ads"
    assert channel_label("acme_ads") == "Acme Ads"  # no such connector: the type, titled
    assert channel_label("all channels") == "all channels"


def test_lookbacks_come_from_the_config_else_the_connector_default() -> None:
    config = config_from_mapping(
        {
            "connectors": [
                {"name": "google_ads", "type": "google_ads"},
                {"name": "meta_eu", "type": "meta_ads", "lookback_days": 10},
                {"name": "meta_us", "type": "meta_ads", "lookback_days": 21},
                {"name": "msads", "type": "microsoft_ads", "lookback_days": 7},
                {"name": "unknown", "type": "not_installed_ads"},
                {"name": "off", "type": "google_ads", "lookback_days": 99, "enabled": False},
            ]
        }
    )
    assert channel_lookbacks(config) == {"google_ads": 14, "meta_ads": 21, "microsoft_ads": 7}


def test_the_totals_table_has_a_row_per_channel_and_ratios_of_sums() -> None:
    totals = [
        {"channel": c, "spend": s, "revenue": r, "clicks": k, "impressions": 10 * k, "conversions": v}
        for c, s, r, k, v in [("google_ads", 100.0, 300.0, 50.0, 4.0), ("microsoft_ads", 50.0, 25.0, 10.0, 0.0)]
    ]
    totals.append({"channel": "all channels", "spend": 150.0, "revenue": 325.0, "clicks": 60.0, "impressions": 600.0})
    totals[-1]["conversions"] = 4.0
    rows = [r | {"roas": r["revenue"] / r["spend"], "cpc": r["spend"] / r["clicks"]} for r in totals]
    rows = [r | {"cpa": r["spend"] / r["conversions"] if r["conversions"] else None} for r in rows]
    immature = [{"channel": "google_ads", "lookback_days": 14, "first_day": "2025-02-17", "last_day": "2025-03-02"}]
    page = render(
        data(totals=rows, immature=immature, labels={"microsoft_ads": "Microsoft Ads"}, colors=channel_colors([]))
    )
    table = page[page.index('<table id="channel-totals"') : page.index("</table>", page.index("channel-totals"))]
    assert re.findall(r'data-channel="([^"]+)"', table) == ["google_ads", "microsoft_ads", "all channels"]
    all_row = table[table.index('data-channel="all channels"') :]
    assert [c for c in re.findall(r'<td class="num">([^<]*)</td>', all_row)] == [
        "150.00", "325.00", "2.17", "60", "600", "4.0", "2.50", "37.50",
    ]  # fmt: skip
    assert "Microsoft Ads" in table
    assert "–" in table  # no conversions: no CPA
    assert 'id="immature-note"' in page
    assert "14 days, 2025-02-17 to 2025-03-02" in page
