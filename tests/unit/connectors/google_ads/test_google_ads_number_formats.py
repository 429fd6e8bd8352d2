"""Google Ads money is integer micros (int64) from the API: whole yen, thousandths of a dinar and amounts up to
10^12 units land exactly, and the residual arithmetic stays in integers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connectors.google_ads.rows import ChunkBuilder, row_type

ACCOUNT = "1234567890"
DAY = dt.date(2025, 3, 3)


def cost_row(currency: str, cost_micros: int, ad: int | None) -> object:
    row = row_type()()
    row.segments.date = DAY.isoformat()
    row.customer.id = int(ACCOUNT)
    row.customer.currency_code = currency
    row.campaign.id = 111
    if ad is not None:
        row.ad_group.id = 222
        row.ad_group_ad.ad.id = ad
    row.metrics.impressions = 10
    row.metrics.cost_micros = cost_micros
    return row


@pytest.mark.parametrize(
    ("currency", "amount"),
    [
        ("JPY", Decimal(123_456)),
        ("KRW", Decimal("123456789012.34")),
        ("KWD", Decimal("1234.567")),
        ("BHD", Decimal("0.001")),
        ("EUR", Decimal("999999999999.999999")),
    ],
)
def test_cost_micros_are_exact_in_every_precision(currency: str, amount: Decimal) -> None:
    micros = int(amount * 1_000_000)
    chunk = ChunkBuilder(ACCOUNT, DAY, DAY)
    chunk.add_ad_row(cost_row(currency, micros, ad=333))
    chunk.add_campaign_row(cost_row(currency, micros + 1_000, ad=None))  # one thousandth more at campaign level
    rows = chunk.table().to_pylist()
    assert [(r["row_level"], r["currency_code"], r["cost_micros"]) for r in rows] == [
        ("ad", currency, micros),
        ("campaign", currency, 1_000),
    ]
    assert Decimal(rows[0]["cost_micros"]) / 1_000_000 == amount
