"""The Meta Ads connector: daily insights of each configured ad account through async report runs (ad level,
campaign level by breakdown, campaign actions by attribution window), and entity snapshots from the
account's Graph edges.

One instance serves several threads: every `extract` call opens its own Graph session.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from pydantic import SecretStr

from connectors.base import TOTALS_STREAM, Account, Connector, ConnectorSettings, Extracted, Stream, zero_totals
from connectors.kit.accounts import AccountCache, FatalAccounts
from connectors.kit.custom import CustomColumn, CustomStream
from connectors.meta_ads import custom
from connectors.meta_ads.exceptions import MetaAdsError, MetaAdsRetryableError
from connectors.meta_ads.graph import GraphClient
from connectors.meta_ads.reports import ReportRunner, StartedRun, wait_together
from connectors.meta_ads.rows import ROW_FORMATS, RowBatch, RowFormat
from connectors.meta_ads.schema import SNAPSHOT_TABLES
from connectors.meta_ads.settings import (
    ACCOUNT_FIELDS,
    DEFAULT_LOOKBACK_DAYS,
    INACTIVE_ACCOUNT_STATUSES,
    INSIGHTS_QUERIES,
    PERMISSION_CODES,
    TOKEN_CODES,
    InsightsQuery,
    MetaAdsSettings,
    normalize_account_id,
)
from connectors.meta_ads.snapshots import SnapshotBatch, edge_pages
from mdp.errors import ConnectorError, MDPError
from mdp.secrets import resolve_secret

logger = logging.getLogger(__name__)


STREAMS: tuple[Stream, ...] = (
    *(Stream(name, fmt.spec) for name, fmt in ROW_FORMATS.items()),
    *(Stream(name, spec, kind="snapshot") for name, spec in SNAPSHOT_TABLES.items()),
)


class MetaAdsConnector(Connector):
    """`type: meta_ads`: raw_meta_ads.ad_insights (one row per day and ad, the primary stream, with the
    passthrough fields as pt_ columns), campaign insights by breakdown and by action, entity snapshots, and the
    configuration's `custom_insights` (raw_meta_ads.custom_<name>)."""

    type_name: ClassVar[str] = "meta_ads"
    display_name: ClassVar[str] = "Meta Ads"
    settings_model: ClassVar[type[ConnectorSettings]] = MetaAdsSettings
    settings: MetaAdsSettings
    streams: tuple[Stream, ...] = STREAMS
    supports_passthrough: ClassVar[bool] = True
    default_lookback_days: ClassVar[int] = DEFAULT_LOOKBACK_DAYS
    totals_stream: ClassVar[str | None] = TOTALS_STREAM
    dbt_models: ClassVar[Mapping[str, str]] = {
        "ad_performance": "int_meta_ads__ad_performance",
        "account_totals": "int_meta_ads__account_totals",
        "country": "int_meta_ads__country",
        "region": "int_meta_ads__region",
        "device": "int_meta_ads__device",
        "platform": "int_meta_ads__platform",
        "age_gender": "int_meta_ads__age_gender",
        "conversion_action": "int_meta_ads__conversion_action",
        "campaign_snapshot": "int_meta_ads__campaign_snapshot",
        "ad_group_snapshot": "int_meta_ads__ad_group_snapshot",
        "ad_snapshot": "int_meta_ads__ad_snapshot",
    }

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._passthrough: tuple[custom.Passthrough, ...] = ()
        self._entries: dict[str, custom.Entry] = {}
        super().__init__(settings, sleep=sleep, clock=clock)
        self._queries, self._formats = self._reports()
        self._credentials: tuple[SecretStr, SecretStr | None] | None = None
        self._accounts = AccountCache()
        self._fatal: FatalAccounts[MetaAdsError] = FatalAccounts(_stays_refused, _refused_again)
        self._started: dict[tuple[str, str, dt.date, dt.date], StartedRun] = {}

    def passthrough_columns(self) -> tuple[CustomColumn, ...]:
        """`passthrough_fields` as pt_ columns of ad_insights: insights fields of level ad (a list of actions
        summed, or `field:action_type` for one type's value)."""
        self._passthrough = tuple(custom.passthrough(f, self.name) for f in self.settings.passthrough_fields)
        return tuple(item.column for item in self._passthrough)

    def custom_streams(self) -> tuple[Stream, ...]:
        """One stream per `custom_insights` entry (validated with the settings), named custom_<name>."""
        streams: list[Stream] = []
        for index, insight in enumerate(self.settings.custom_insights):
            entry = insight.entry()
            where = f"connectors.{self.name}.custom_insights[{index}]"
            streams.append(custom.stream_of(self.type_name, entry, where))
            self._entries[streams[-1].name] = entry
        return tuple(streams)

    def _reports(self) -> tuple[dict[str, InsightsQuery], dict[str, RowFormat]]:
        """This instance's insights requests and row formats: the built-in ones, ad_insights with the
        passthrough fields, and one per custom stream."""
        queries, formats = dict(INSIGHTS_QUERIES), dict(ROW_FORMATS)
        if self._passthrough:
            ad = queries["ad_insights"]
            extra = tuple(item.field for item in self._passthrough)
            queries["ad_insights"] = replace(ad, fields=tuple(dict.fromkeys((*ad.fields, *extra))))
            base = formats["ad_insights"]
            formats["ad_insights"] = RowFormat(
                self.streams[0].table,
                custom.with_passthrough(base.parse, self._passthrough),
                base.grain,
                base.known | frozenset(extra),
            )
        for stream in self.streams:
            entry = self._entries.get(stream.name)
            if entry is not None:
                assert isinstance(stream, CustomStream)
                queries[stream.name] = custom.entry_query(entry)
                formats[stream.name] = custom.entry_format(entry, stream)
        return queries, formats

    def _runner(self, client: GraphClient, stream: str, account_id: str) -> ReportRunner:
        entry = self._entries.get(stream)
        if entry is not None:
            return custom.CustomReportRunner(
                client, self.settings, account_id, entry, sleep=self._sleep, clock=self._clock
            )
        return ReportRunner(
            client, self.settings, account_id, query=self._queries[stream], sleep=self._sleep, clock=self._clock
        )

    def list_accounts(self) -> list[Account]:
        """The configured accounts (digits only), or every active ad account the token can read."""
        return self._accounts.listed(self.settings.accounts, self._discover)

    def prepare(self, units: Sequence[tuple[str, str, dt.date, dt.date]]) -> None:
        """Start the report run of every insights unit, then poll them together: the units of a batch wait
        for Meta at the same time instead of one after another. Whatever cannot be started here (an
        error, an unknown account) is left to `extract`, which meets the same error and reports it."""
        wanted: list[tuple[str, str, dt.date, dt.date]] = []
        for stream, account, start, end in units:
            try:
                account_id = normalize_account_id(account)
            except ValueError:
                continue
            if stream in self._queries and start <= end and account_id not in self._fatal:
                wanted.append((stream, account_id, start, end))
        if len(wanted) < 2:
            return
        runs: dict[tuple[str, str, dt.date, dt.date], str] = {}
        try:
            with self._client() as client:
                for key in wanted:
                    stream, account_id, start, end = key
                    try:
                        info = self._account(client, account_id)
                        runner = self._runner(client, stream, info.id)
                        runs[key] = runner.start(start, end)
                    except (MetaAdsError, MetaAdsRetryableError) as error:
                        logger.debug("Meta Ads %s %s: not started ahead (%s)", stream, account_id, error)
                settled = wait_together(client, self.settings, runs, sleep=self._sleep, clock=self._clock)
        except MDPError as error:  # e.g. a secret that cannot be read: every unit's extract says so
            logger.debug("Meta Ads %s: report runs not started ahead (%s)", self.name, error)
            return
        with self._lock:
            self._started.update(settled)
        logger.info("Meta Ads %s: %d report run(s) started and polled together", self.name, len(settled))

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        """Every day of [start, end] for one account and stream: one batch per completed report run (report
        streams), or per page of the account's edge (snapshot streams, asked for one day).

        Raises:
            MetaAdsRetryableError: throttling, 5xx or timeouts outlasted the retries, or a day's report
                run kept failing.
            MetaAdsError: token, permission or parameter errors (the account's other chunks fail at once).
        """
        kind = self.stream(stream).kind  # an unknown stream fails before any call
        try:
            account_id = normalize_account_id(account)
        except ValueError as error:
            raise ConnectorError(f"Meta Ads {self.name}: account {error}") from None
        if end < start:
            raise ConnectorError(f"Meta Ads account {account_id}: end {end} is before start {start}")
        if kind == "snapshot" and start != end:
            raise ConnectorError(f"Meta Ads {stream}: a snapshot is of one day, got {start}..{end}")
        self._fatal.raise_if_failed_before(account_id)
        began = self._clock()
        with self._client() as client:
            try:
                info = self._account(client, account_id)
                if kind == "snapshot":
                    yield from self._snapshot(client, info, stream, end, began)
                else:
                    yield from self._report(client, info, stream, start, end, began)
            except MetaAdsError as error:
                self._fatal.remember(account_id, error)
                raise

    def _report(
        self, client: GraphClient, info: Account, stream: str, start: dt.date, end: dt.date, began: float
    ) -> Iterator[Extracted]:
        fmt = self._formats[stream]
        runner = self._runner(client, stream, info.id)
        batch = RowBatch(info, self.settings.conversion_rule, fmt, self.settings.requested_windows)
        rows = quarantined = 0
        with self._lock:
            started = self._started.pop((stream, info.id, start, end), None)
        days: set[dt.date] = set()
        for since, until, raw_rows in runner.rows(start, end, started):
            batch.add(raw_rows, since, until)
            records, quarantine = batch.take()
            rows += len(records)
            quarantined += len(quarantine)
            days.update(r["date"] for r in records)
            if records or quarantine:
                yield Extracted(batch.collector.table(records), quarantine)
        if stream == TOTALS_STREAM:  # the days Graph returned no row for: zero totals, to reconcile against
            zeros = zero_totals(fmt.spec, info.id, start, end, days)
            if zeros.num_rows:
                yield Extracted(zeros)
        if batch.unknown:
            logger.warning(
                "Meta Ads account %s %s: ignored fields the API added: %s", info.id, stream, sorted(batch.unknown)
            )
        logger.info(
            "Meta Ads account %s %s %s..%s: %d row(s), %d quarantined; %d request(s), %d retried, "
            "%d report run(s), %d split(s), %.1fs",
            info.id,
            stream,
            start,
            end,
            rows,
            quarantined,
            client.requests,
            client.retries,
            runner.runs,
            runner.splits,
            self._clock() - began,
        )

    def _snapshot(
        self, client: GraphClient, info: Account, stream: str, day: dt.date, began: float
    ) -> Iterator[Extracted]:
        batch = SnapshotBatch(info, stream, day)
        rows = quarantined = 0
        for page in edge_pages(client, info.id, stream, self.settings.page_limit):
            records, quarantine = batch.parse(page)
            rows += len(records)
            quarantined += len(quarantine)
            if records or quarantine:
                yield Extracted(batch.collector.table(records), quarantine)
        if batch.unknown:
            logger.warning(
                "Meta Ads account %s %s: ignored fields the API added: %s", info.id, stream, sorted(batch.unknown)
            )
        logger.info(
            "Meta Ads account %s %s of %s: %d row(s), %d quarantined; %d request(s), %d retried, %.1fs",
            info.id,
            stream,
            day,
            rows,
            quarantined,
            client.requests,
            client.retries,
            self._clock() - began,
        )

    def describe(self) -> dict[str, Any]:
        return super().describe() | {
            "graph_url": self.settings.base_url,
            "api_version": self.settings.api_version,
            "conversion_action_types": list(self.settings.conversion_action_types),
            "conversion_aggregation": self.settings.conversion_aggregation,
            "action_attribution_windows": list(self.settings.action_attribution_windows),
            "custom_insights": [entry.name for entry in self._entries.values()],
            "passthrough_fields": list(self.settings.passthrough_fields),
        }

    def _client(self) -> GraphClient:
        token, secret = self._secrets()
        return GraphClient(
            self.settings,
            token.get_secret_value(),
            secret.get_secret_value() if secret else None,
            sleep=self._sleep,
        )

    def _secrets(self) -> tuple[SecretStr, SecretStr | None]:
        with self._lock:
            if self._credentials is None:
                prefix = f"connectors.{self.name}.credentials"
                refs = self.settings.credentials
                token = resolve_secret(refs["access_token"], key=f"{prefix}.access_token")
                secret_ref = refs.get("app_secret")
                secret = resolve_secret(secret_ref, key=f"{prefix}.app_secret") if secret_ref else None
                self._credentials = (token, secret)
            return self._credentials

    def _account(self, client: GraphClient, account_id: str) -> Account:
        """The account's name, currency and time zone (read once per connector instance)."""

        def read() -> Account:
            body = client.get(
                (f"act_{account_id}",),
                {"fields": ",".join(ACCOUNT_FIELDS)},
                what=f"account {account_id}: read name, currency and time zone",
            )
            return _account_from(body, account_id)

        return self._accounts.get(account_id, read)

    def _discover(self) -> list[Account]:
        """Every active ad account the token can read."""
        with self._client() as client:
            found = self._ad_accounts(client)
        logger.info("Meta Ads %s: discovered %d ad account(s)", self.name, len(found))
        return found

    def _ad_accounts(self, client: GraphClient) -> list[Account]:
        found: list[Account] = []
        params: dict[str, Any] = {"fields": ",".join(ACCOUNT_FIELDS), "limit": 100}
        seen: set[str] = set()
        while True:
            body = client.get(("me", "adaccounts"), params, what="list the token's ad accounts")
            for item in body.get("data") or []:
                if not isinstance(item, dict) or item.get("account_status") in INACTIVE_ACCOUNT_STATUSES:
                    continue
                raw_id = str(item.get("account_id") or item.get("id") or "")
                try:
                    found.append(_account_from(item, normalize_account_id(raw_id)))
                except ValueError:
                    logger.warning("Meta Ads %s: skipped an ad account with id %r", self.name, raw_id)
            paging = body.get("paging")
            paging = paging if isinstance(paging, dict) else {}
            cursors = paging.get("cursors")
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not paging.get("next") or not after or after in seen:
                return found
            seen.add(after)
            params = {**params, "after": after}


def _stays_refused(error: MetaAdsError) -> bool:
    code = error.failure.code if error.failure else None
    return code in TOKEN_CODES or code in PERMISSION_CODES


def _refused_again(earlier: MetaAdsError, message: str) -> MetaAdsError:
    return MetaAdsError(message, earlier.failure)


def _account_from(body: dict[str, Any], account_id: str) -> Account:
    def text(key: str) -> str | None:
        value = body.get(key)
        return value if isinstance(value, str) and value else None

    returned = text("account_id")
    if returned is not None and returned != account_id:
        raise MetaAdsError(f"Meta Ads account {account_id}: the API answered for account {returned}")
    return Account(account_id, text("name"), text("currency"), text("timezone_name"))
