"""`type: google_ads` in the configuration -> the connector class. Plug-ins register through the
`mdp.connectors` entry-point group."""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points

from pydantic import ValidationError

from connectors.base import Connector
from mdp.config import ConnectorConfig, PipelineConfig, validation_message
from mdp.errors import ConfigError

ENTRY_POINT_GROUP = "mdp.connectors"
BUILT_IN: dict[str, str] = {
    "google_ads": "connectors.google_ads.connector:GoogleAdsConnector",
    "meta_ads": "connectors.meta_ads.connector:MetaAdsConnector",
}


def available_types() -> dict[str, str]:
    """Connector type -> "module:Class", built-ins first, then installed plug-ins."""
    found = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.value)
    return found


def connector_class(type_name: str) -> type[Connector]:
    types = available_types()
    target = types.get(type_name)
    if target is None:
        known = ", ".join(sorted(types)) or "none installed"
        raise ConfigError(f"unknown connector type {type_name!r}; available types: {known}")
    module_name, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError(f"connector type {type_name!r} points at {target}, which is not a Connector")
    return cls


def build_connector(config: PipelineConfig, section: ConnectorConfig) -> Connector:
    """Validate a connector's section with its own settings model and construct it (no API call)."""
    index = config.connectors.index(section)
    try:
        cls = connector_class(section.type)
    except ConfigError as exc:
        where = config.source or "the configuration"
        raise ConfigError(f"invalid configuration in {where}: connectors[{index}].type: {exc}") from None
    options = section.options()
    # the fields the `metrics:` ask of this type, after those the section lists itself (landed raw only)
    own = options.get("passthrough_fields")
    asked = config.passthrough_fields(section.type)
    if asked:
        listed = list(own) if isinstance(own, list) else []
        options["passthrough_fields"] = listed + [f for f in asked if f not in listed]
    try:
        settings = cls.settings_model.model_validate(options)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, config.source, ("connectors", index))) from None
    try:
        connector = cls(settings)
    except ConfigError as exc:
        raise ConfigError(_metric_located(config, section.type, str(exc))) from None
    check_streams(connector, settings.streams, f"{config.source or 'the configuration'}: connectors[{index}].streams")
    return connector


def _metric_located(config: PipelineConfig, type_name: str, message: str) -> str:
    """A connector's refusal of a passthrough field ("invalid configuration: metrics: ... 'field' ...") with the
    file and the metric's key (metrics[i].sources.<type>) it comes from."""
    prefix = "invalid configuration: metrics: "
    if not message.startswith(prefix):
        return message
    where = "metrics"
    for index, metric in enumerate(config.metrics):
        if any(f"'{field}'" in message for field in metric.sources.get(type_name, [])):
            where = f"metrics[{index}].sources.{type_name}"
            break
    return f"invalid configuration in {config.source or 'the configuration'}: {where}: {message[len(prefix) :]}"


def check_streams(connector: Connector, wanted: list[str] | None, where: str) -> None:
    """Every selected stream exists (once); an empty selection is refused rather than loading nothing."""
    if wanted is None:
        return
    known = connector.stream_names()
    if not wanted:
        every = ", ".join(known)
        raise ConfigError(f"invalid configuration in {where}: empty; omit the key for every stream ({every})")
    for name in wanted:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"invalid configuration in {where}: unknown stream {name!r}{hint}; "
                f"{connector.type_name} streams: {', '.join(known)}"
            )
    if len(set(wanted)) != len(wanted):
        raise ConfigError(f"invalid configuration in {where}: a stream is listed twice")


def check_metrics(config: PipelineConfig) -> None:
    """Every connector type a passthrough metric names is installed (the connectors check the fields)."""
    types = available_types()
    where = config.source or "the configuration"
    for index, metric in enumerate(config.metrics):
        for type_name in metric.sources:
            if type_name not in types:
                close = difflib.get_close_matches(type_name, list(types), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"invalid configuration in {where}: metrics[{index}].sources.{type_name}: unknown connector "
                    f"type{hint}; available types: {', '.join(sorted(types))}"
                )


def build_connectors(config: PipelineConfig, names: list[str] | None = None) -> list[Connector]:
    """The enabled connectors (or the named ones), validated and constructed."""
    check_metrics(config)
    sections = [config.connector(n) for n in names] if names else config.enabled_connectors()
    return [build_connector(config, section) for section in sections]
