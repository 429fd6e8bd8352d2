"""Custom reports and passthrough fields through the real bingads SDK against the sandbox: a custom
CampaignPerformance report by Network lands typed rows whose spend per account-day equals ad_performance's (and
the truth's), one row per key; AllConversions passed through lands in ad_performance's pt_allconversions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa

from connectors.kit.schema import MONEY
from connectors.microsoft_ads.connector import MicrosoftAdsConnector
from sandbox import MICROSOFT, MicrosoftAdsSandbox
from sandbox.microsoft_streams import NETWORKS

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)
Make = Callable[..., MicrosoftAdsConnector]
# The worked example of docs/connectors/microsoft_ads.md.
BY_NETWORK = {
    "name": "campaign_by_network",
    "report_type": "CampaignPerformance",
    "aggregation": "Daily",
    "columns": ["CampaignId", "Network", "Impressions", "Clicks", "Spend", "Conversions", "Ctr", "AverageCpc"],
}


def extract(connector: MicrosoftAdsConnector, stream: str, account: str) -> pa.Table:
    batches = list(connector.extract(stream, account, START, END))
    assert all(not b.quarantine for b in batches)
    return (
        pa.concat_tables([b.rows for b in batches]) if batches else connector.stream(stream).table.schema.empty_table()
    )


def per_day(table: pa.Table, column: str) -> dict[tuple[str, dt.date], Decimal]:
    sums: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    for row in table.select(["account_id", "date", column]).to_pylist():
        sums[(row["account_id"], row["date"])] += Decimal(row[column])
    return dict(sums)


def test_spend_by_network_adds_up_to_ad_performance(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox
) -> None:
    connector = make_connector(custom_reports=[BY_NETWORK])
    stream = connector.stream("custom_campaign_by_network")
    assert stream.table.name == "raw_microsoft_ads.custom_campaign_by_network"
    schema = stream.table.schema
    assert schema.field("spend").type == MONEY
    assert schema.field("clicks").type == pa.int64()
    assert schema.field("ctr").type == pa.float64()
    assert schema.field("average_cpc").type == MONEY
    for account in microsoft_sandbox.account_ids[:2]:
        custom = extract(connector, stream.name, account)
        ads = extract(connector, "ad_performance", account)
        assert custom.num_rows > 0
        assert set(custom.column("network").to_pylist()) <= set(NETWORKS)
        keys = [tuple(r.values()) for r in custom.select(list(stream.key)).to_pylist()]
        assert len(keys) == len(set(keys))  # (account, day, campaign, network) is the key
        assert per_day(custom, "spend") == per_day(ads, "spend")
        assert per_day(custom, "impressions") == per_day(ads, "impressions")
        truth = microsoft_sandbox.truth.totals(MICROSOFT, account, START, END)
        assert sum(per_day(custom, "spend").values()) == truth.cost
        info = microsoft_sandbox.truth.data.account(MICROSOFT, account)
        assert info is not None
        assert set(custom.column("account_currency").to_pylist()) == {info.currency}
        for row in custom.to_pylist():  # ratios as the report writes them, averages in money
            if row["impressions"]:
                assert abs(row["ctr"] - 100 * row["clicks"] / row["impressions"]) < 0.006
            if row["clicks"]:
                assert abs(row["average_cpc"] - row["spend"] / row["clicks"]) < Decimal("0.006")
            else:
                assert row["average_cpc"] is None


def test_passthrough_all_conversions_lands_in_its_pt_column(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox
) -> None:
    connector = make_connector(passthrough_fields=["AllConversions", "AllRevenue"])
    schema = connector.stream("ad_performance").table.schema
    assert schema.field("pt_allconversions").type == pa.float64()
    assert schema.field("pt_allrevenue").type == MONEY
    account = microsoft_sandbox.account_ids[0]
    table = extract(connector, "ad_performance", account)
    expected = Decimal(0)
    for day in (START + dt.timedelta(days=i) for i in range((END - START).days + 1)):
        for record in microsoft_sandbox.truth.records(MICROSOFT, account, day):
            expected += Decimal(record.conversions_centi) / 100 + record.view_through_conversions
    got = sum(Decimal(str(v)) for v in table.column("pt_allconversions").to_pylist())
    assert got == expected
    assert expected > sum(Decimal(str(v)) for v in table.column("conversions").to_pylist())
    assert table.column("pt_allrevenue").to_pylist() == table.column("revenue").to_pylist()


def test_a_custom_report_without_passthrough_leaves_the_built_in_streams_alone(make_connector: Make) -> None:
    plain = make_connector()
    custom = make_connector(custom_reports=[BY_NETWORK])
    assert plain.stream("ad_performance").table == custom.stream("ad_performance").table
    assert [s.name for s in custom.streams][-1] == "custom_campaign_by_network"
