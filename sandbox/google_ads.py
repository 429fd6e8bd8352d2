"""A local Google Ads API: GoogleAdsService Search and SearchStream over gRPC with TLS.

Good enough for the official `google-ads` client: GAQL on ad_group_ad, campaign, customer and
customer_client, metadata checks, GoogleAdsFailure trailers, and switchable faults.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import grpc
from google.ads.googleads.v26.errors.types import errors as error_types
from google.ads.googleads.v26.services.types import google_ads_service as service_types
from google.protobuf.descriptor import FieldDescriptor

from sandbox import dynamics, gaql
from sandbox.config import SandboxConfig
from sandbox.data import GOOGLE, Account, DailyRecord, normalize_account_id
from sandbox.faults import CallCounter, Fault, FaultPlan, without_first_campaign
from sandbox.google_streams import GEO_TARGETS, Amounts, GoogleAccountDetails, Keyword, sum_amounts
from sandbox.segments import split_integer
from sandbox.tls import Certificate, process_certificate, trust_sandbox_certificate, write_ca_bundle
from sandbox.truth import Truth, daterange

logger = logging.getLogger(__name__)

API_VERSION = "v26"
SERVICE_NAME = f"google.ads.googleads.{API_VERSION}.services.GoogleAdsService"
FAILURE_METADATA_KEY = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"
MAX_DATE_RANGE_DAYS = 3700

_ROW_PB: Any = service_types.GoogleAdsRow.pb()
_STREAM_RESPONSE_PB: Any = service_types.SearchGoogleAdsStreamResponse.pb()
_SEARCH_RESPONSE_PB: Any = service_types.SearchGoogleAdsResponse.pb()
_FAILURE_PB: Any = error_types.GoogleAdsFailure.pb()

_CUSTOMER = frozenset(
    {
        "customer.id",
        "customer.descriptive_name",
        "customer.currency_code",
        "customer.time_zone",
        "customer.manager",
        "customer.status",
        "customer.resource_name",
    }
)
_CAMPAIGN = frozenset(
    {
        "campaign.id",
        "campaign.name",
        "campaign.status",
        "campaign.advertising_channel_type",
        "campaign.bidding_strategy_type",
        "campaign.campaign_budget",
        "campaign.start_date_time",
        "campaign.end_date_time",
        "campaign.resource_name",
    }
)
_CAMPAIGN_BUDGET = frozenset(
    {
        "campaign_budget.id",
        "campaign_budget.amount_micros",
        "campaign_budget.period",
        "campaign_budget.resource_name",
    }
)
_AD_GROUP = frozenset(
    {
        "ad_group.id",
        "ad_group.name",
        "ad_group.status",
        "ad_group.type",
        "ad_group.cpc_bid_micros",
        "ad_group.campaign",
        "ad_group.resource_name",
    }
)
_AD_GROUP_AD = frozenset(
    {
        "ad_group_ad.ad.id",
        "ad_group_ad.ad.name",
        "ad_group_ad.ad.type",
        "ad_group_ad.ad.final_urls",
        "ad_group_ad.status",
        "ad_group_ad.ad_group",
        "ad_group_ad.resource_name",
    }
)
_KEYWORD = frozenset(
    {
        "ad_group_criterion.criterion_id",
        "ad_group_criterion.keyword.text",
        "ad_group_criterion.keyword.match_type",
        "ad_group_criterion.status",
        "ad_group_criterion.resource_name",
        "keyword_view.resource_name",
    }
)
_SEARCH_TERM = frozenset(
    {
        "search_term_view.search_term",
        "search_term_view.status",
        "search_term_view.ad_group",
        "search_term_view.resource_name",
        "segments.keyword.ad_group_criterion",
        "segments.keyword.info.text",
        "segments.keyword.info.match_type",
    }
)
_GEOGRAPHIC = frozenset(
    {
        "geographic_view.country_criterion_id",
        "geographic_view.location_type",
        "geographic_view.resource_name",
        "segments.geo_target_region",
    }
)
_GEO_TARGET_CONSTANT = frozenset(
    {
        "geo_target_constant.id",
        "geo_target_constant.name",
        "geo_target_constant.country_code",
        "geo_target_constant.target_type",
        "geo_target_constant.status",
        "geo_target_constant.canonical_name",
        "geo_target_constant.parent_geo_target",
        "geo_target_constant.resource_name",
    }
)
_CONVERSION_ACTION_SEGMENTS = frozenset(
    {"segments.conversion_action", "segments.conversion_action_name", "segments.conversion_action_category"}
)
# Metrics the API can segment by conversion action (cost, clicks and impressions are not).
_CONVERSION_METRICS = frozenset(
    {
        "metrics.conversions",
        "metrics.conversions_value",
        "metrics.all_conversions",
        "metrics.all_conversions_value",
    }
)
_METRICS = frozenset(
    {
        "metrics.impressions",
        "metrics.clicks",
        "metrics.cost_micros",
        "metrics.conversions",
        "metrics.conversions_value",
        "metrics.view_through_conversions",
        "metrics.all_conversions",
        "metrics.all_conversions_value",
        "metrics.ctr",
        "metrics.average_cpc",
        "metrics.average_cpm",
        "metrics.cost_per_conversion",
        "metrics.value_per_conversion",
        "metrics.interactions",
        "metrics.video_trueview_views",
        "metrics.conversions_by_conversion_date",
        "metrics.conversions_value_by_conversion_date",
        "metrics.all_conversions_by_conversion_date",
        "metrics.all_conversions_value_by_conversion_date",
    }
)
# Segments every report resource is served with: the network split and the periods of segments.date.
_DATE_PARTS = ("segments.day_of_week", "segments.week", "segments.month", "segments.quarter", "segments.year")
_NETWORK = "segments.ad_network_type"
_REPORT_SEGMENTS = frozenset({_NETWORK, *_DATE_PARTS})
_CONVERSION_ACTION = frozenset(
    {
        "conversion_action.id",
        "conversion_action.name",
        "conversion_action.category",
        "conversion_action.status",
        "conversion_action.type",
        "conversion_action.primary_for_goal",
        "conversion_action.resource_name",
    }
)
_CUSTOMER_CLIENT = frozenset(
    {
        "customer_client.id",
        "customer_client.client_customer",
        "customer_client.descriptive_name",
        "customer_client.currency_code",
        "customer_client.time_zone",
        "customer_client.manager",
        "customer_client.status",
        "customer_client.level",
        "customer_client.hidden",
        "customer_client.test_account",
        "customer_client.resource_name",
    }
)
_REPORT = _CUSTOMER | _CAMPAIGN | _METRICS | _REPORT_SEGMENTS | {gaql.DATE_FIELD}
# FROM resource -> fields the sandbox serves with it
RESOURCE_FIELDS: dict[str, frozenset[str]] = {
    "ad_group_ad": _REPORT | _AD_GROUP | _AD_GROUP_AD,
    "ad_group": _CUSTOMER | _CAMPAIGN | _AD_GROUP,
    "campaign": _REPORT | _CAMPAIGN_BUDGET | _CONVERSION_ACTION_SEGMENTS | {"segments.device"},
    "customer": _CUSTOMER | _METRICS | _REPORT_SEGMENTS | {gaql.DATE_FIELD},
    "customer_client": _CUSTOMER_CLIENT | _CUSTOMER,
    "keyword_view": _REPORT | _AD_GROUP | _KEYWORD,
    "search_term_view": _REPORT | _AD_GROUP | _SEARCH_TERM,
    "geographic_view": _REPORT | _GEOGRAPHIC,
    "geo_target_constant": _GEO_TARGET_CONSTANT,
    "campaign_budget": _CUSTOMER | _CAMPAIGN_BUDGET,
    "conversion_action": _CUSTOMER | _CONVERSION_ACTION,
}
_ID_FIELDS = {
    "ad_group_ad": "ad_group_ad.ad.id",
    "ad_group": "ad_group.id",
    "campaign": "campaign.id",
    "customer": "customer.id",
    "keyword_view": "ad_group_criterion.criterion_id",
    "search_term_view": "ad_group.id",
    "geographic_view": "campaign.id",
    "geo_target_constant": "geo_target_constant.id",
    "campaign_budget": "campaign_budget.id",
    "conversion_action": "conversion_action.id",
}


class GoogleAdsError(Exception):
    """An error answered as gRPC status + GoogleAdsFailure trailer."""

    def __init__(
        self,
        status: grpc.StatusCode,
        error_field: str | None,
        error_name: str | None,
        message: str,
        retry_delay_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_field = error_field
        self.error_name = error_name
        self.message = message
        self.retry_delay_seconds = retry_delay_seconds


def _invalid(message: str, name: str, error_field: str = "query_error") -> GoogleAdsError:
    return GoogleAdsError(grpc.StatusCode.INVALID_ARGUMENT, error_field, name, message)


@lru_cache(maxsize=512)
def _field_descriptors(path: str) -> tuple[FieldDescriptor, ...] | None:
    """Descriptors along a GAQL field path in GoogleAdsRow, or None when the path does not exist."""
    descriptor = _ROW_PB.DESCRIPTOR
    chain: list[FieldDescriptor] = []
    for part in path.split("."):
        if descriptor is None:
            return None
        # protobuf names a field `type_` where GAQL says `type`
        field_descriptor = descriptor.fields_by_name.get(part) or descriptor.fields_by_name.get(f"{part}_")
        if field_descriptor is None:
            return None
        chain.append(field_descriptor)
        descriptor = field_descriptor.message_type
    return tuple(chain) if descriptor is None else None


def _set_field(row: Any, path: str, value: Any) -> None:
    chain = _field_descriptors(path)
    assert chain is not None
    target = row
    for descriptor in chain[:-1]:
        target = getattr(target, descriptor.name)
    leaf = chain[-1]
    if leaf.enum_type is not None and isinstance(value, str):
        value = leaf.enum_type.values_by_name[value].number
    if leaf.is_repeated:
        getattr(target, leaf.name).extend(value)
        return
    setattr(target, leaf.name, value)


def _failure_bytes(error: GoogleAdsError, request_id: str) -> bytes:
    failure = _FAILURE_PB()
    item = failure.errors.add()
    if error.error_field and error.error_name:
        enum = item.error_code.DESCRIPTOR.fields_by_name[error.error_field].enum_type
        setattr(item.error_code, error.error_field, enum.values_by_name[error.error_name].number)
    item.message = error.message
    if error.retry_delay_seconds is not None:
        details = item.details.quota_error_details
        details.rate_scope = (
            details.DESCRIPTOR.fields_by_name["rate_scope"].enum_type.values_by_name["DEVELOPER"].number
        )
        details.rate_name = "Requests per developer token per minute"
        details.retry_delay.seconds = error.retry_delay_seconds
    failure.request_id = request_id
    return bytes(failure.SerializeToString())


@dataclass(frozen=True)
class _Call:
    method: str
    customer: Account
    query: gaql.Query
    page_token: str
    page_size: int
    total_count: bool


class _Service:
    def __init__(self, truth: Truth, config: SandboxConfig, calls: CallCounter) -> None:
        self.truth = truth
        self.config = config
        self.calls = calls

    @property
    def faults(self) -> FaultPlan:
        return self.truth.faults

    def handlers(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "Search": grpc.unary_unary_rpc_method_handler(
                    self.search,
                    request_deserializer=service_types.SearchGoogleAdsRequest.deserialize,
                    response_serializer=_serialize,
                ),
                "SearchStream": grpc.unary_stream_rpc_method_handler(
                    self.search_stream,
                    request_deserializer=service_types.SearchGoogleAdsStreamRequest.deserialize,
                    response_serializer=_serialize,
                ),
            },
        )

    def search(self, request: Any, context: grpc.ServicerContext) -> Any:
        request_id = uuid.uuid4().hex[:22]
        context.send_initial_metadata((("request-id", request_id),))
        try:
            page_token = request.page_token
            settings = request.search_settings
            call, row_faults = self._prepare("Search", request, context)
            if request.page_size:
                raise _invalid("page_size is not supported", "PAGE_SIZE_NOT_SUPPORTED", "request_error")
            rows = self._rows(call, row_faults)
            offset = _decode_page_token(page_token) if page_token else 0
            size = self.config.google_page_size
            response = _SEARCH_RESPONSE_PB()
            for row in rows[offset : offset + size]:
                response.results.append(row)
            if offset + size < len(rows):
                response.next_page_token = base64.urlsafe_b64encode(f"o:{offset + size}".encode()).decode()
            if settings.return_total_results_count:
                response.total_results_count = len(rows)
            response.field_mask.paths.extend(call.query.fields)
            return response
        except GoogleAdsError as error:
            self._abort(context, error, request_id)
        except Exception:
            logger.exception("sandbox Search failed")
            self._abort(context, GoogleAdsError(grpc.StatusCode.INTERNAL, None, None, "sandbox bug"), request_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def search_stream(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        request_id = uuid.uuid4().hex[:22]
        context.send_initial_metadata((("request-id", request_id),))
        try:
            call, row_faults = self._prepare("SearchStream", request, context)
            rows = self._rows(call, row_faults)
        except GoogleAdsError as error:
            self._abort(context, error, request_id)
            return
        except Exception:
            logger.exception("sandbox SearchStream failed")
            self._abort(context, GoogleAdsError(grpc.StatusCode.INTERNAL, None, None, "sandbox bug"), request_id)
            return
        batch = self.config.google_stream_batch_size
        for start in range(0, max(len(rows), 1), batch):
            response = _STREAM_RESPONSE_PB()
            response.results.extend(rows[start : start + batch])
            response.field_mask.paths.extend(call.query.fields)
            response.request_id = request_id
            yield response

    def _abort(self, context: grpc.ServicerContext, error: GoogleAdsError, request_id: str) -> None:
        metadata: list[tuple[str, str | bytes]] = [("request-id", request_id)]
        if error.error_field:
            metadata.insert(0, (FAILURE_METADATA_KEY, _failure_bytes(error, request_id)))
        context.set_trailing_metadata(tuple(metadata))
        logger.debug("sandbox google_ads error %s %s: %s", error.status, error.error_name, error.message)
        context.abort(error.status, error.message)

    def _prepare(self, method: str, request: Any, context: grpc.ServicerContext) -> tuple[_Call, list[Fault]]:
        customer_id = normalize_account_id(request.customer_id)
        self.calls.record(customer_id, method)
        row_faults: list[Fault] = []
        for fault in self.faults.on_call(GOOGLE, customer_id, method, report_key(getattr(request, "query", ""))):
            if fault.kind == "slow":
                _sleep_while_active(context, float(fault.param("delay_seconds", 5.0)))
            elif fault.kind in ("malformed", "schema_drift", "rows_missing"):
                row_faults.append(fault)
            else:
                raise _fault_error(fault)
        metadata = dict(context.invocation_metadata())
        _check_auth(metadata)
        customer = self._customer(customer_id, metadata.get("login-customer-id"))
        try:
            query = gaql.parse(request.query)
        except gaql.GaqlError as exc:
            raise _invalid(str(exc), exc.error) from None
        _validate(query)
        settings = getattr(request, "search_settings", None)
        call = _Call(
            method,
            customer,
            query,
            getattr(request, "page_token", ""),
            getattr(request, "page_size", 0),
            bool(settings and settings.return_total_results_count),
        )
        return call, row_faults

    def _customer(self, customer_id: str, login_customer_id: Any) -> Account:
        if not (customer_id.isdigit() and len(customer_id) == 10):
            raise _invalid(f"Invalid customer ID '{customer_id}'.", "INVALID_CUSTOMER_ID", "request_error")
        data = self.truth.data
        account = data.account(GOOGLE, customer_id)
        denied = GoogleAdsError(
            grpc.StatusCode.PERMISSION_DENIED,
            "authorization_error",
            "USER_PERMISSION_DENIED",
            "User doesn't have permission to access customer. Note: If you're accessing a client customer, "
            "the manager's customer id must be set in the 'login-customer-id' header.",
        )
        if account is None:
            raise denied
        login = normalize_account_id(login_customer_id) if login_customer_id else ""
        manager_id = data.google_manager.account_id
        if login and login not in (manager_id, account.account_id):
            raise denied
        if not login and not account.manager and self.config.require_login_customer_id:
            raise denied
        if account.status != "ENABLED":
            raise GoogleAdsError(
                grpc.StatusCode.PERMISSION_DENIED,
                "authorization_error",
                "CUSTOMER_NOT_ENABLED",
                "The customer account can't be accessed because it is not yet enabled or has been deactivated.",
            )
        return account

    def _rows(self, call: _Call, row_faults: Sequence[Fault]) -> list[Any]:
        as_of = self.truth.resolve_as_of()
        dicts = _RowBuilder(self.truth, call.customer, call.query, as_of).build()
        dicts = _apply_row_faults(dicts, call.query, row_faults)
        selected = [f for f in call.query.fields]
        resources = {f.rsplit(".", 1)[0] for f in selected if not f.startswith(("metrics.", "segments."))}
        resources = {r.split(".")[0] for r in resources}
        names = [f"{r}.resource_name" for r in sorted(resources)]
        drift = any(f.kind == "schema_drift" for f in row_faults)
        out = []
        for values in dicts:
            row = _ROW_PB()
            for name in names:
                if values.get(name):
                    _set_field(row, name, values[name])
            for name in selected:
                value = values.get(name)
                if value is not None:
                    _set_field(row, name, value)
            if drift:
                _set_field(row, "metrics.all_conversions", float(values.get("metrics.all_conversions", 1.0)))
            out.append(row)
        return out


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _decode_page_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        return int(text[2:])
    except ValueError:
        raise _invalid("Page token is invalid.", "INVALID_PAGE_TOKEN", "request_error") from None


def report_key(query: str) -> str:
    """A query's report as faults name it (`Fault.report`): the GAQL before its WHERE, spaces collapsed."""
    return " ".join(re.split(r"\s+WHERE\s+", query.strip(), maxsplit=1, flags=re.IGNORECASE)[0].split())


def _sleep_while_active(context: grpc.ServicerContext, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and context.is_active():
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def _fault_error(fault: Fault) -> GoogleAdsError:
    kind = fault.kind
    if kind == "quota_retry":
        delay = int(fault.param("retry_delay_seconds", 1))
        return GoogleAdsError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "quota_error",
            "RESOURCE_TEMPORARILY_EXHAUSTED",
            f"Too many requests. Retry in {delay} seconds.",
            retry_delay_seconds=delay,
        )
    if kind == "quota_daily":
        return GoogleAdsError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "quota_error",
            "RESOURCE_EXHAUSTED",
            "Too many requests. Retry in 86400 seconds.",
            retry_delay_seconds=int(fault.param("retry_delay_seconds", 86400)),
        )
    if kind == "unavailable":
        return GoogleAdsError(grpc.StatusCode.UNAVAILABLE, None, None, "The service is currently unavailable.")
    if kind == "internal":
        return GoogleAdsError(
            grpc.StatusCode.INTERNAL,
            "internal_error",
            "INTERNAL_ERROR",
            "An internal error has occurred.",
        )
    if kind == "revoked":
        return GoogleAdsError(
            grpc.StatusCode.UNAUTHENTICATED,
            "authentication_error",
            "OAUTH_TOKEN_REVOKED",
            "Authentication of the request failed: the OAuth token has been revoked.",
        )
    if kind == "permission_denied":
        return GoogleAdsError(
            grpc.StatusCode.PERMISSION_DENIED,
            "authorization_error",
            "USER_PERMISSION_DENIED",
            "User doesn't have permission to access customer.",
        )
    raise AssertionError(f"fault {kind} has no Google Ads error")


def _check_auth(metadata: Mapping[str, Any]) -> None:
    authorization = str(metadata.get("authorization", ""))
    if not authorization.startswith("Bearer ") or not authorization[7:].strip():
        raise GoogleAdsError(
            grpc.StatusCode.UNAUTHENTICATED,
            "authentication_error",
            "OAUTH_TOKEN_HEADER_INVALID",
            "The OAuth token in the header is not valid.",
        )
    if not str(metadata.get("developer-token", "")).strip():
        raise GoogleAdsError(
            grpc.StatusCode.UNAUTHENTICATED,
            "request_error",
            "DEVELOPER_TOKEN_PARAMETER_MISSING",
            "The developer token parameter is missing from the request header.",
        )


def _validate(query: gaql.Query) -> None:
    if query.resource not in RESOURCE_FIELDS:
        if query.resource in _ROW_PB.DESCRIPTOR.fields_by_name and query.resource not in (
            "metrics",
            "segments",
        ):
            raise _invalid(
                f"Resource '{query.resource}' is not served by the sandbox.",
                "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE",
            )
        raise _invalid(f"Invalid resource '{query.resource}' in FROM clause.", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE")
    allowed = RESOURCE_FIELDS[query.resource]
    for name in sorted(query.referenced_fields):
        if _field_descriptors(name) is None:
            raise _invalid(f"Unrecognized field in the query: '{name}'.", "UNRECOGNIZED_FIELD")
        if name not in allowed:
            error = (
                "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"
                if name.startswith("metrics.")
                else "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE"
                if name.startswith("segments.")
                else "PROHIBITED_FIELD_IN_SELECT_CLAUSE"
            )
            raise _invalid(f"Field '{name}' cannot be used with resource '{query.resource}' in the sandbox.", error)
    referenced = query.referenced_fields
    if referenced & _CONVERSION_ACTION_SEGMENTS:
        for name in sorted(referenced):
            if name.startswith("metrics.") and name not in _CONVERSION_METRICS:
                raise _invalid(
                    f"The metric '{name}' cannot be segmented by conversion action.",
                    "PROHIBITED_SEGMENT_WITH_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
                )
        if "segments.device" in referenced:
            raise _invalid(
                "segments.device with segments.conversion_action is not served by the sandbox.",
                "PROHIBITED_FIELD_COMBINATION_IN_SELECT_CLAUSE",
            )


_OWN_ENTITIES = ("campaign_budget", "conversion_action")  # entity resources without metrics in the sandbox


def _date_parts(day: date, referenced: frozenset[str] | set[str]) -> dict[str, Any]:
    """The period segments of a day that a query references (week and quarter start on their first day)."""
    parts: dict[str, Any] = {
        "segments.day_of_week": day.strftime("%A").upper(),
        "segments.week": (day - timedelta(days=day.weekday())).isoformat(),
        "segments.month": day.replace(day=1).isoformat(),
        "segments.quarter": day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1).isoformat(),
        "segments.year": day.year,
    }
    return {name: value for name, value in parts.items() if name in referenced}


class _RowBuilder:
    """Rows of one query as dicts keyed by GAQL field names. Entities are named as they are on the "as of"
    date (like the real API, which reports every day under the entity's current name)."""

    def __init__(self, truth: Truth, customer: Account, query: gaql.Query, as_of: date) -> None:
        self.truth = truth
        self.customer = customer
        self.query = query
        self.as_of = as_of
        self.date_selected = gaql.DATE_FIELD in query.fields
        self.with_metrics = any(f.startswith("metrics.") for f in query.referenced_fields)
        self._values: dict[tuple[str, str], dict[str, Any]] = {}

    def build(self) -> list[Mapping[str, Any]]:
        try:
            day_range = gaql.date_range(self.query, self.as_of)
        except gaql.GaqlError as exc:
            raise _invalid(str(exc), exc.error) from None
        if (self.date_selected or self.with_metrics) and day_range is None:
            raise _invalid(
                "A date range (segments.date) filter is required with metrics or segments.date.",
                "EXPECTED_FILTERS_ON_DATE_RANGE",
            )
        if day_range is not None and (day_range[1] - day_range[0]).days > MAX_DATE_RANGE_DAYS:
            raise _invalid("The date range is too wide.", "DATE_RANGE_TOO_WIDE")
        if self.with_metrics and self.customer.manager:
            raise _invalid("Metrics cannot be requested for a manager account.", "REQUESTED_METRICS_FOR_MANAGER")
        resource = self.query.resource
        if resource == "customer_client":
            rows = self._customer_clients()
        elif resource == "geo_target_constant":
            rows = _geo_target_constants()
        elif self.date_selected or self.with_metrics:
            assert day_range is not None
            rows = self._metric_rows(day_range)
        else:
            rows = self._entity_rows()
        query = self.query
        if not self.date_selected:
            query = replace(query, conditions=tuple(c for c in query.conditions if c.field != gaql.DATE_FIELD))
        try:
            return gaql.filter_rows(rows, query, self.as_of)
        except gaql.GaqlError as exc:
            raise _invalid(str(exc), exc.error) from None

    def _customer_values(self, account: Account) -> dict[str, Any]:
        return {
            "customer.id": int(account.account_id),
            "customer.descriptive_name": account.name,
            "customer.currency_code": account.currency,
            "customer.time_zone": account.time_zone,
            "customer.manager": account.manager,
            "customer.status": account.status,
            "customer.resource_name": f"customers/{account.account_id}",
        }

    def _customer_clients(self) -> list[Mapping[str, Any]]:
        data = self.truth.data
        base = self._customer_values(self.customer)
        members = [(self.customer, 0)]
        if self.customer.manager:
            members += [(a, 1) for a in data.accounts(GOOGLE)] + [(data.google_cancelled, 1)]
        rows = []
        for account, level in members:
            rows.append(
                base
                | {
                    "customer_client.id": int(account.account_id),
                    "customer_client.client_customer": f"customers/{account.account_id}",
                    "customer_client.descriptive_name": account.name,
                    "customer_client.currency_code": account.currency,
                    "customer_client.time_zone": account.time_zone,
                    "customer_client.manager": account.manager,
                    "customer_client.status": account.status,
                    "customer_client.level": level,
                    "customer_client.hidden": False,
                    "customer_client.test_account": False,
                    "customer_client.resource_name": (
                        f"customers/{self.customer.account_id}/customerClients/{account.account_id}"
                    ),
                }
            )
        return rows

    def _entities(self) -> tuple[GoogleAccountDetails | None, dict[str, Any]]:
        if self.customer.manager:
            return None, self._customer_values(self.customer)
        structure = self.truth.data.structure(GOOGLE, self.customer.account_id)
        return GoogleAccountDetails(self.truth.data.seed, structure), self._customer_values(self.customer)

    def _campaign_values(self, details: GoogleAccountDetails, campaign_id: str) -> dict[str, Any]:
        cached = self._values.get(("campaign", campaign_id))
        if cached is not None:
            return cached
        campaign = details.structure.campaign_by_id[campaign_id]
        cid = self.customer.account_id
        budget_id = details.budget_id(campaign)
        budget_name = f"customers/{cid}/campaignBudgets/{budget_id}"
        data = self.truth.data
        start, end = details.campaign_dates(
            campaign, dynamics.campaign_start(data, GOOGLE, cid, campaign_id, self.as_of)
        )
        values = {
            "campaign.id": int(campaign.campaign_id),
            "campaign.name": details.campaign_state(campaign, self.as_of).name,
            "campaign.status": data.campaign_status(GOOGLE, cid, campaign_id, self.as_of),
            "campaign.advertising_channel_type": campaign.channel_type,
            "campaign.bidding_strategy_type": details.bidding_strategy_type(campaign),
            "campaign.campaign_budget": budget_name,
            "campaign.start_date_time": start,
            "campaign.end_date_time": end,
            "campaign.resource_name": f"customers/{cid}/campaigns/{campaign.campaign_id}",
            "campaign_budget.id": int(budget_id),
            "campaign_budget.amount_micros": details.budget_micros(campaign, self.as_of),
            "campaign_budget.period": "DAILY",
            "campaign_budget.resource_name": budget_name,
        }
        self._values["campaign", campaign_id] = values
        return values

    def _ad_group_values(self, details: GoogleAccountDetails, ad_group_id: str) -> dict[str, Any]:
        cached = self._values.get(("ad_group", ad_group_id))
        if cached is not None:
            return cached
        group = details.structure.ad_group_by_id[ad_group_id]
        cid = self.customer.account_id
        values = self._campaign_values(details, group.campaign_id) | {
            "ad_group.id": int(group.ad_group_id),
            "ad_group.name": details.ad_group_state(group, self.as_of).name,
            "ad_group.status": group.status,
            "ad_group.type": details.ad_group_type(group),
            "ad_group.cpc_bid_micros": details.cpc_bid_micros(group),
            "ad_group.campaign": f"customers/{cid}/campaigns/{group.campaign_id}",
            "ad_group.resource_name": f"customers/{cid}/adGroups/{group.ad_group_id}",
        }
        self._values["ad_group", ad_group_id] = values
        return values

    def _ad_values(self, details: GoogleAccountDetails, ad_id: str) -> dict[str, Any]:
        cached = self._values.get(("ad", ad_id))
        if cached is not None:
            return cached
        ad = details.structure.ad_by_id[ad_id]
        cid = self.customer.account_id
        group_name = f"customers/{cid}/adGroups/{ad.ad_group_id}"
        state = details.ad_state(ad, self.as_of)
        values = self._ad_group_values(details, ad.ad_group_id) | {
            "ad_group_ad.ad.id": int(ad.ad_id),
            "ad_group_ad.ad.name": state.name,
            "ad_group_ad.ad.type": details.ad_type(ad),
            "ad_group_ad.ad.final_urls": details.final_urls(ad),
            "ad_group_ad.status": "PAUSED" if state.paused else ad.status,
            "ad_group_ad.ad_group": group_name,
            "ad_group_ad.resource_name": f"customers/{cid}/adGroupAds/{ad.ad_group_id}~{ad.ad_id}",
        }
        self._values["ad", ad_id] = values
        return values

    def _entity_rows(self) -> list[Mapping[str, Any]]:
        details, customer = self._entities()
        resource = self.query.resource
        if resource == "customer":
            return [customer]
        if details is None or resource not in ("campaign", "ad_group", "ad_group_ad", *_OWN_ENTITIES):
            return []
        structure = details.structure
        if resource == "campaign_budget":
            budgets = {}
            for c in structure.campaigns:
                values = self._campaign_values(details, c.campaign_id)
                budgets[values["campaign_budget.id"]] = {k: v for k, v in values.items() if k in _CAMPAIGN_BUDGET}
            return [customer | budget for budget in budgets.values()]
        if resource == "conversion_action":
            cid = self.customer.account_id
            return [
                customer
                | {
                    "conversion_action.id": int(action.id),
                    "conversion_action.name": action.name,
                    "conversion_action.category": action.category,
                    "conversion_action.status": "ENABLED",
                    "conversion_action.type": "WEBPAGE",
                    "conversion_action.primary_for_goal": action.primary,
                    "conversion_action.resource_name": f"customers/{cid}/conversionActions/{action.id}",
                }
                for action in details.conversion_actions
            ]
        if resource == "campaign":
            return [customer | self._campaign_values(details, c.campaign_id) for c in structure.campaigns]
        if resource == "ad_group":
            return [customer | self._ad_group_values(details, g.ad_group_id) for g in structure.ad_groups]
        return [customer | self._ad_values(details, a.ad_id) for a in structure.ads]

    def _metric_rows(self, day_range: tuple[date, date]) -> list[Mapping[str, Any]]:
        details, customer = self._entities()
        if details is None:
            return []
        start, end = day_range[0], min(day_range[1], self.as_of)
        groups: dict[tuple[Any, ...], tuple[dict[str, Any], list[Amounts]]] = {}
        referenced = self.query.referenced_fields
        for day in daterange(start, end) if start <= end else []:
            periods = _date_parts(day, referenced)
            for record in self.truth.records(GOOGLE, self.customer.account_id, day, self.as_of):
                pieces = list(self._slices(details, record))
                # video views of the leaf record, shared by its pieces in proportion to their impressions
                views = split_integer(details.video_views(record), [a.impressions for _, _, a in pieces] or [1])
                for (key, values, amounts), viewed in zip(pieces, views, strict=False):
                    amounts = replace(amounts, video_views=viewed)
                    if periods:
                        key = (*tuple(periods.values()), *key)
                        values = values | periods
                    if self.date_selected:
                        key = (day, *key)
                        values = values | {gaql.DATE_FIELD: day.isoformat()}
                    groups.setdefault(key, (values, []))[1].append(amounts)
        rows = []
        for values, amounts in groups.values():
            total = sum_amounts(amounts)
            if self.query.resource != "customer" and not any(total.astuple()):
                continue
            rows.append(customer | values | total.metrics())
        return rows

    def _slices(
        self, details: GoogleAccountDetails, record: DailyRecord
    ) -> Iterator[tuple[tuple[Any, ...], dict[str, Any], Amounts]]:
        """(row key without the date, row fields, metrics) of each piece of a leaf record for this query:
        split by ad network first when the query asks for segments.ad_network_type."""
        if _NETWORK not in self.query.referenced_fields:
            yield from self._resource_slices(details, record)
            return
        for network, part in details.network_slices(record):
            for key, values, amounts in self._resource_slices(details, part):
                yield (network, *key), values | {_NETWORK: network}, amounts

    def _resource_slices(
        self, details: GoogleAccountDetails, record: DailyRecord
    ) -> Iterator[tuple[tuple[Any, ...], dict[str, Any], Amounts]]:
        resource = self.query.resource
        referenced = self.query.referenced_fields
        campaign_id = record.campaign_id
        if resource == "customer":
            yield (), {}, Amounts.of(record)
        elif resource == "ad_group_ad":
            if record.ad_id is not None:
                yield (record.ad_id,), self._ad_values(details, record.ad_id), Amounts.of(record)
        elif resource == "campaign":
            base = self._campaign_values(details, campaign_id)
            if referenced & _CONVERSION_ACTION_SEGMENTS:
                cid = self.customer.account_id
                for action, amounts in details.conversion_action_slices(record):
                    fields = base | {
                        "segments.conversion_action": f"customers/{cid}/conversionActions/{action.id}",
                        "segments.conversion_action_name": action.name,
                        "segments.conversion_action_category": action.category,
                    }
                    yield (campaign_id, action.id), fields, amounts
            elif "segments.device" in referenced:
                for device, part in details.device_slices(record):
                    yield (campaign_id, device), base | {"segments.device": device}, Amounts.of(part)
            else:
                yield (campaign_id,), base, Amounts.of(record)
        elif resource == "keyword_view":
            for keyword, part in details.keyword_slices(record):
                yield (
                    (keyword.ad_group_id, keyword.criterion_id),
                    self._keyword_values(details, keyword),
                    Amounts.of(part),
                )
        elif resource == "search_term_view":
            for keyword, term, status, piece in details.search_term_slices(record):
                yield (
                    (keyword.ad_group_id, keyword.criterion_id, term),
                    self._search_term_values(details, keyword, term, status),
                    Amounts.of(piece),
                )
        elif resource == "geographic_view":
            by_region = "segments.geo_target_region" in referenced
            for country, region, location_type, part in details.region_slices(record):
                key: tuple[Any, ...] = (campaign_id, country.id, location_type)
                fields = self._campaign_values(details, campaign_id) | {
                    "geographic_view.country_criterion_id": country.id,
                    "geographic_view.location_type": location_type,
                    "geographic_view.resource_name": (
                        f"customers/{self.customer.account_id}/geographicViews/{country.id}~{location_type}"
                    ),
                }
                if by_region:
                    key += (region.id,)
                    fields["segments.geo_target_region"] = f"geoTargetConstants/{region.id}"
                yield key, fields, Amounts.of(part)

    def _keyword_values(self, details: GoogleAccountDetails, keyword: Keyword) -> dict[str, Any]:
        cid = self.customer.account_id
        criterion = f"customers/{cid}/adGroupCriteria/{keyword.ad_group_id}~{keyword.criterion_id}"
        return self._ad_group_values(details, keyword.ad_group_id) | {
            "ad_group_criterion.criterion_id": int(keyword.criterion_id),
            "ad_group_criterion.keyword.text": keyword.text,
            "ad_group_criterion.keyword.match_type": keyword.match_type,
            "ad_group_criterion.status": "ENABLED",
            "ad_group_criterion.resource_name": criterion,
            "keyword_view.resource_name": f"customers/{cid}/keywordViews/{keyword.ad_group_id}~{keyword.criterion_id}",
        }

    def _search_term_values(
        self, details: GoogleAccountDetails, keyword: Keyword, term: str, status: str
    ) -> dict[str, Any]:
        cid = self.customer.account_id
        group = f"customers/{cid}/adGroups/{keyword.ad_group_id}"
        encoded = base64.urlsafe_b64encode(term.encode()).decode().rstrip("=")
        return self._ad_group_values(details, keyword.ad_group_id) | {
            "search_term_view.search_term": term,
            "search_term_view.status": status,
            "search_term_view.ad_group": group,
            "search_term_view.resource_name": (
                f"customers/{cid}/searchTermViews/{details.structure.ad_group_by_id[keyword.ad_group_id].campaign_id}"
                f"~{keyword.ad_group_id}~{encoded}"
            ),
            "segments.keyword.ad_group_criterion": (
                f"customers/{cid}/adGroupCriteria/{keyword.ad_group_id}~{keyword.criterion_id}"
            ),
            "segments.keyword.info.text": keyword.text,
            "segments.keyword.info.match_type": keyword.match_type,
        }


def _geo_target_constants() -> list[Mapping[str, Any]]:
    return [
        {
            "geo_target_constant.id": target.id,
            "geo_target_constant.name": target.name,
            "geo_target_constant.country_code": target.country_code,
            "geo_target_constant.target_type": target.target_type,
            "geo_target_constant.status": "ENABLED",
            "geo_target_constant.canonical_name": target.canonical_name,
            "geo_target_constant.parent_geo_target": (
                f"geoTargetConstants/{target.parent_id}" if target.parent_id else None
            ),
            "geo_target_constant.resource_name": f"geoTargetConstants/{target.id}",
        }
        for target in GEO_TARGETS.values()
    ]


def _apply_row_faults(
    rows: list[Mapping[str, Any]], query: gaql.Query, faults: Sequence[Fault]
) -> list[Mapping[str, Any]]:
    out = list(rows)
    for fault in faults:
        if fault.kind == "rows_missing":
            out = without_first_campaign(out, "campaign.id")
        if fault.kind != "malformed":
            continue
        mode = fault.param("mode", "negative_cost")
        count = int(fault.param("rows", 1))
        for i in range(min(count, len(out))):
            row = dict(out[i])
            if mode == "negative_cost" and "metrics.cost_micros" in row:
                row["metrics.cost_micros"] = -abs(int(row["metrics.cost_micros"])) - 10_000
            elif mode == "missing_id":
                id_field = _ID_FIELDS.get(query.resource, "customer_client.id")
                row[id_field] = 0
            else:
                logger.debug("malformed mode %s does not apply to Google Ads rows", mode)
            out[i] = row
    return out


class GoogleAdsSandbox:
    """The Google Ads sandbox server, in a background thread pool of this process.

    ``with GoogleAdsSandbox() as g: client = GoogleAdsClient(..., endpoint=g.endpoint)``
    """

    def __init__(self, config: SandboxConfig | None = None, *, truth: Truth | None = None) -> None:
        self.config = config or SandboxConfig()
        self.truth = truth or self.config.build_truth()
        self.calls = CallCounter()
        self.certificate: Certificate | None = None
        self.ca_bundle: Path | None = None
        self._server: grpc.Server | None = None
        self._port: int | None = None
        self._lock = threading.Lock()

    @property
    def faults(self) -> FaultPlan:
        return self.truth.faults

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the Google Ads sandbox is not running")
        return self._port

    @property
    def endpoint(self) -> str:
        return f"{self.config.host}:{self.port}"

    @property
    def manager_id(self) -> str:
        return self.truth.data.google_manager.account_id

    @property
    def account_ids(self) -> list[str]:
        return [a.account_id for a in self.truth.accounts(GOOGLE)]

    def start(self) -> GoogleAdsSandbox:
        with self._lock:
            if self._server is not None:
                return self
            self.certificate = process_certificate(self.config.cert_dir)
            if self.config.trust_certificate:
                self.ca_bundle = trust_sandbox_certificate(self.certificate)
            else:
                self.ca_bundle = write_ca_bundle(self.certificate)
            server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="sandbox-google-ads"),
                options=[("grpc.so_reuseport", 0)],
            )
            server.add_generic_rpc_handlers((_Service(self.truth, self.config, self.calls).handlers(),))
            credentials = grpc.ssl_server_credentials([(self.certificate.key_pem, self.certificate.cert_pem)])
            port = server.add_secure_port(f"{self.config.host}:{self.config.google_port}", credentials)
            if port == 0:
                raise OSError(f"cannot listen on {self.config.host}:{self.config.google_port}")
            server.start()
            self._server, self._port = server, port
            logger.info("Google Ads sandbox listening on %s:%s", self.config.host, port)
            return self

    def stop(self, grace: float = 0.2) -> None:
        with self._lock:
            if self._server is None:
                return
            self._server.stop(grace).wait(5)
            self._server, self._port = None, None
            logger.info("Google Ads sandbox stopped")

    def __enter__(self) -> GoogleAdsSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def google_ads_client_kwargs(sandbox: GoogleAdsSandbox, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for `GoogleAdsClient(...)` aimed at `sandbox` without any call to Google."""
    from google.oauth2.credentials import Credentials

    kwargs: dict[str, Any] = {
        "credentials": Credentials(token="sandbox-access-token", token_uri="http://127.0.0.1:9/token"),
        "developer_token": "sandbox-developer-token",
        "login_customer_id": sandbox.manager_id,
        "endpoint": sandbox.endpoint,
        "use_proto_plus": True,
        "version": API_VERSION,
    }
    kwargs.update(overrides)
    return kwargs
