"""Fixtures: a fake BigQuery REST server on a free loopback port, the official client aimed at it, and a
BigQueryWarehouse using that client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from tests.integration.bigquery.fake_bigquery import FakeBigQuery
from warehouse.bigquery import BigQueryWarehouse

PROJECT = "mdp-test-project"
LOCATION = "EU"


@pytest.fixture
def fake_bigquery() -> Iterator[FakeBigQuery]:
    fake = FakeBigQuery()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def bq_client(fake_bigquery: FakeBigQuery) -> Iterator[bigquery.Client]:
    client = bigquery.Client(
        project=PROJECT,
        location=LOCATION,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=fake_bigquery.url),
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def warehouse(bq_client: bigquery.Client) -> BigQueryWarehouse:
    return BigQueryWarehouse(PROJECT, LOCATION, dataset_prefix="mdp_", client=bq_client, job_timeout=20)
