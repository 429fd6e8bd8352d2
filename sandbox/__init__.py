"""Local Google Ads (gRPC + TLS), Meta Graph (HTTP), Microsoft Advertising (SOAP), TikTok (HTTP) and LinkedIn
Marketing (REST) API servers with seeded synthetic data and faults.

Only the CLI and tests import this package; production code reaches it through configured endpoints.
"""

from __future__ import annotations

from sandbox.config import (
    DEFAULT_GOOGLE_PORT,
    DEFAULT_LINKEDIN_PORT,
    DEFAULT_META_PORT,
    DEFAULT_MICROSOFT_PORT,
    DEFAULT_TIKTOK_PORT,
    SandboxConfig,
)
from sandbox.data import (
    ATTRIBUTION_WINDOW_DAYS,
    GOOGLE,
    LINKEDIN,
    META,
    MICROSOFT,
    TIKTOK,
    Account,
    DailyRecord,
    SyntheticData,
)
from sandbox.faults import FAULTS_ENV, CallCounter, Fault, FaultPlan, faults_from_env, parse_fault_spec
from sandbox.google_ads import GoogleAdsSandbox, google_ads_client_kwargs
from sandbox.linkedin_ads import LinkedInAdsSandbox
from sandbox.meta import MetaSandbox
from sandbox.microsoft_ads import MicrosoftAdsSandbox
from sandbox.runner import SandboxHandle, environment_exports, pipeline_fragment, run_forever, start_sandbox
from sandbox.tiktok_ads import TikTokAdsSandbox
from sandbox.tls import process_certificate, trust_sandbox_certificate, write_ca_bundle
from sandbox.truth import DEFAULT_META_CONVERSION_ACTION_TYPES, Totals, Truth

__all__ = [
    "ATTRIBUTION_WINDOW_DAYS",
    "DEFAULT_GOOGLE_PORT",
    "DEFAULT_LINKEDIN_PORT",
    "DEFAULT_META_CONVERSION_ACTION_TYPES",
    "DEFAULT_META_PORT",
    "DEFAULT_MICROSOFT_PORT",
    "DEFAULT_TIKTOK_PORT",
    "FAULTS_ENV",
    "GOOGLE",
    "LINKEDIN",
    "META",
    "MICROSOFT",
    "TIKTOK",
    "Account",
    "CallCounter",
    "DailyRecord",
    "Fault",
    "FaultPlan",
    "GoogleAdsSandbox",
    "LinkedInAdsSandbox",
    "MetaSandbox",
    "MicrosoftAdsSandbox",
    "SandboxConfig",
    "SandboxHandle",
    "SyntheticData",
    "TikTokAdsSandbox",
    "Totals",
    "Truth",
    "environment_exports",
    "faults_from_env",
    "google_ads_client_kwargs",
    "parse_fault_spec",
    "pipeline_fragment",
    "process_certificate",
    "run_forever",
    "start_sandbox",
    "trust_sandbox_certificate",
    "write_ca_bundle",
]
