"""Seeded, deterministic synthetic advertising data for both sandbox channels.

Every value derives from a hash of (seed, entity, day): no global random state, so the same seed,
account, day and "as of" date always give the same numbers, in any process and in any call order.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Literal

from mdp.currency import exponent
from sandbox import dynamics
from sandbox.hashing import rng_for, stable_hash

logger = logging.getLogger(__name__)

Channel = Literal["google_ads", "meta_ads", "microsoft_ads", "tiktok_ads", "linkedin_ads"]
GOOGLE: Channel = "google_ads"
META: Channel = "meta_ads"
MICROSOFT: Channel = "microsoft_ads"
TIKTOK: Channel = "tiktok_ads"
LINKEDIN: Channel = "linkedin_ads"
CHANNELS: tuple[Channel, ...] = (GOOGLE, META, MICROSOFT, TIKTOK, LINKEDIN)

# Accounts a channel can serve (the scale benchmark runs 10,000 per channel; accounts are a few hundred bytes each and
# their structure and metrics are built per request).
MAX_ACCOUNTS = 10_000

# Days after which conversions of a day stop changing (late conversions / attribution window).
ATTRIBUTION_WINDOW_DAYS: dict[str, int] = {GOOGLE: 14, META: 28, MICROSOFT: 30, TIKTOK: 7, LINKEDIN: 30}
# Share of a day's final conversions already reported on the day itself.
_SAME_DAY_SHARE = 0.45

# (running, paused) campaign status words of each channel.
CAMPAIGN_STATUS: dict[str, tuple[str, str]] = {
    GOOGLE: ("ENABLED", "PAUSED"),
    META: ("ACTIVE", "PAUSED"),
    MICROSOFT: ("Active", "Paused"),
    TIKTOK: ("ENABLE", "DISABLE"),
    LINKEDIN: ("ACTIVE", "PAUSED"),
}

# Monday .. Sunday demand factors.
WEEKDAY_FACTORS = (1.0, 1.06, 1.04, 1.0, 0.93, 0.78, 0.84)

# (currency, time zone, market label); accounts cycle through them (the index plus a per-channel offset). New
# locales go at the end: with the default three accounts per channel, existing accounts keep their currency.
# JPY (no decimals) and KWD (three) come to Microsoft's 7th and 8th, Meta's 8th and 9th, Google's 9th and 10th.
LOCALES: tuple[tuple[str, str, str], ...] = (
    ("EUR", "Europe/Paris", "FR"),
    ("USD", "America/New_York", "US"),
    ("GBP", "Europe/London", "UK"),
    ("EUR", "Europe/Berlin", "DE"),
    ("USD", "America/Los_Angeles", "US West"),
    ("SEK", "Europe/Stockholm", "SE"),
    ("CHF", "Europe/Zurich", "CH"),
    ("AUD", "Australia/Sydney", "AU"),
    ("JPY", "Asia/Tokyo", "JP"),
    ("KWD", "Asia/Kuwait", "KW"),
)
# Units of the currency per EUR, so prices look plausible in each currency.
_CURRENCY_SCALE = {
    "EUR": 1.0,
    "USD": 1.08,
    "GBP": 0.85,
    "SEK": 11.4,
    "CHF": 0.95,
    "AUD": 1.65,
    "JPY": 163.9,
    "KWD": 0.333,
}
_BRANDS = (
    "Northwind Outdoor",
    "Contoso Home",
    "Fabrikam Fashion",
    "Tailspin Toys",
    "Wingtip Sports",
    "Adatum Beauty",
    "Litware Electronics",
    "Proseware Books",
)

# (name, Google advertising_channel_type, ctr range, cvr range, impressions scale)
_GOOGLE_CAMPAIGNS = (
    ("Brand Search", "SEARCH", (0.06, 0.12), (0.05, 0.09), 0.4),
    ("Generic Search", "SEARCH", (0.025, 0.06), (0.02, 0.045), 1.0),
    ("Shopping", "SHOPPING", (0.008, 0.02), (0.015, 0.035), 2.0),
    ("Display Remarketing", "DISPLAY", (0.002, 0.006), (0.004, 0.012), 6.0),
    ("YouTube Awareness", "VIDEO", (0.003, 0.009), (0.001, 0.005), 5.0),
)
# Microsoft Advertising: search campaigns mostly (name, campaign type, ctr range, cvr range, impressions scale)
_MICROSOFT_CAMPAIGNS = (
    ("Brand Search", "Search", (0.07, 0.13), (0.05, 0.09), 0.3),
    ("Generic Search", "Search", (0.03, 0.065), (0.02, 0.045), 0.8),
    ("Shopping", "Shopping", (0.01, 0.022), (0.015, 0.035), 1.2),
    ("Audience Ads", "Audience", (0.003, 0.008), (0.004, 0.012), 3.0),
)
# TikTok: in-feed video campaigns (name, objective, ctr range, cvr range, impressions scale)
_TIKTOK_CAMPAIGNS = (
    ("Spark Ads Conversions", "WEB_CONVERSIONS", (0.006, 0.014), (0.01, 0.03), 3.0),
    ("Reach & Frequency", "REACH", (0.003, 0.008), (0.002, 0.006), 5.0),
    ("Traffic", "TRAFFIC", (0.008, 0.018), (0.004, 0.01), 2.0),
    ("Product Sales", "PRODUCT_SALES", (0.007, 0.016), (0.015, 0.035), 2.5),
)
# LinkedIn: campaign groups ("campaigns" here), campaigns ("ad groups"), creatives ("ads"); all its days are UTC
_LINKEDIN_CAMPAIGNS = (
    ("Lead Gen Forms", "LEAD_GENERATION", (0.004, 0.009), (0.03, 0.07), 0.6),
    ("Website Conversions", "WEBSITE_CONVERSIONS", (0.003, 0.008), (0.01, 0.03), 1.0),
    ("Brand Awareness", "BRAND_AWARENESS", (0.002, 0.005), (0.002, 0.008), 2.0),
)
_PMAX = ("Performance Max", "PERFORMANCE_MAX", (0.008, 0.02), (0.02, 0.04), 4.0)
# (name, objective, ctr range, cvr range, impressions scale)
_META_CAMPAIGNS = (
    ("Prospecting", "OUTCOME_SALES", (0.007, 0.015), (0.01, 0.025), 3.0),
    ("Retargeting", "OUTCOME_SALES", (0.012, 0.025), (0.03, 0.06), 1.0),
    ("Catalog Sales", "OUTCOME_SALES", (0.009, 0.02), (0.02, 0.04), 2.0),
    ("Lead Gen", "OUTCOME_LEADS", (0.008, 0.016), (0.04, 0.09), 1.5),
    ("Traffic", "OUTCOME_TRAFFIC", (0.01, 0.02), (0.005, 0.01), 2.0),
)
_AD_FORMATS_GOOGLE = ("Responsive Search Ad", "Expanded Text Ad", "Responsive Display Ad", "Video Ad")
_AD_FORMATS_MICROSOFT = ("Responsive search ad", "Expanded text ad", "Responsive ad")
_AD_FORMATS_TIKTOK = ("In-feed video", "Spark ad", "Carousel")
_AD_FORMATS_LINKEDIN = ("Single image ad", "Carousel ad", "Video ad", "Text ad")
_AD_FORMATS_META = ("Carousel", "Single Image", "Video 15s", "Collection", "Story")

META_ACTION_TYPES = (
    "link_click",
    "landing_page_view",
    "add_to_cart",
    "lead",
    "purchase",
    "offsite_conversion.fb_pixel_purchase",
    "omni_purchase",
)
# Action types whose counts keep arriving late (attribution).
_LATE_META_ACTIONS = frozenset(
    {"add_to_cart", "lead", "purchase", "offsite_conversion.fb_pixel_purchase", "omni_purchase"}
)
META_VALUE_ACTION_TYPES = ("purchase", "offsite_conversion.fb_pixel_purchase", "omni_purchase")


def _numeric_id(digits: int, *parts: object) -> str:
    low = 10 ** (digits - 1)
    return str(low + stable_hash(*parts) % (9 * low))


def money_unit_micros(currency: str) -> int:
    """Micros in the currency's smallest unit: 10_000 (a cent) for EUR, 1_000_000 (a yen) for JPY, 1_000 for KWD."""
    return int(10 ** (6 - exponent(currency)))


def money_text(micros: int, currency: str, *, grouped: bool = False) -> str:
    """An amount as the platforms write it: the currency's decimal places ("1234" JPY, "12.34" EUR, "1.234" KWD),
    with comma thousands separators when `grouped` ("12,345")."""
    places = exponent(currency)
    return f"{Decimal(micros).scaleb(-6):{',' if grouped else ''}.{places}f}"


def _minor_micros(cents: float, currency_exponent: int) -> int:
    """An amount given in hundredths of the currency, rounded to its smallest unit, in micros."""
    if currency_exponent == 2:
        return round(cents) * 10_000
    return int(round(cents * 10 ** (currency_exponent - 2)) * 10 ** (6 - currency_exponent))


def late_share(channel: str, day: date, as_of: date) -> float:
    """Share of a day's final conversions reported by `as_of` (0 before the day, 1 after the window)."""
    lag = (as_of - day).days
    if lag < 0:
        return 0.0
    window = ATTRIBUTION_WINDOW_DAYS[channel]
    if lag >= window:
        return 1.0
    return 1.0 - (1.0 - _SAME_DAY_SHARE) * (1.0 - lag / window) ** 2


@dataclass(frozen=True)
class Account:
    """An ad account. `account_id` is digits only (Meta's Graph id adds the `act_` prefix)."""

    channel: Channel
    account_id: str
    name: str
    currency: str
    time_zone: str
    index: int
    manager: bool = False
    status: str = "ENABLED"

    @property
    def graph_id(self) -> str:
        return f"act_{self.account_id}"


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    status: str
    channel_type: str  # Google advertising_channel_type, Meta objective


@dataclass(frozen=True)
class AdGroup:
    """A Google ad group or a Meta ad set."""

    ad_group_id: str
    name: str
    status: str
    campaign_id: str


@dataclass(frozen=True)
class Ad:
    ad_id: str
    name: str
    status: str
    ad_group_id: str
    campaign_id: str


@dataclass(frozen=True)
class _Profile:
    impressions: float
    ctr: float
    cvr: float
    cpc_cents: float
    aov_cents: float
    off_probability: float
    lead_gen: bool


@dataclass(frozen=True)
class AccountStructure:
    account: Account
    campaigns: tuple[Campaign, ...]
    ad_groups: tuple[AdGroup, ...]
    ads: tuple[Ad, ...]
    # Units that carry metrics: ad ids, plus campaign ids of campaigns without ads (Performance Max).
    profiles: dict[str, _Profile] = field(repr=False, compare=False)

    @cached_property
    def campaign_by_id(self) -> dict[str, Campaign]:
        return {c.campaign_id: c for c in self.campaigns}

    @cached_property
    def ad_group_by_id(self) -> dict[str, AdGroup]:
        return {g.ad_group_id: g for g in self.ad_groups}

    @cached_property
    def ad_by_id(self) -> dict[str, Ad]:
        return {a.ad_id: a for a in self.ads}


@dataclass(frozen=True)
class DailyRecord:
    """Metrics of one ad (or one ad-less campaign) on one day, as reported on a given "as of" date.

    Money is in micros of the account currency, in whole minor units of it (cents, yen, fils). Google and Microsoft
    conversions are kept in hundredths (`conversions_centi`); Meta conversions live in `actions` /
    `action_value_micros` by action type.
    """

    channel: Channel
    account_id: str
    day: date
    campaign_id: str
    ad_group_id: str | None
    ad_id: str | None
    impressions: int
    clicks: int
    cost_micros: int
    conversions_centi: int = 0
    conversions_value_micros: int = 0
    view_through_conversions: int = 0
    reach: int = 0
    actions: tuple[tuple[str, int], ...] = ()
    action_value_micros: tuple[tuple[str, int], ...] = ()

    @property
    def is_ad_level(self) -> bool:
        return self.ad_id is not None


def _lognormal(rng: random.Random, sigma: float) -> float:
    return rng.lognormvariate(0.0, sigma)


_Template = tuple[str, str, tuple[float, float], tuple[float, float], float]


def _make_profile(
    rng: random.Random, template: _Template, size: float, currency_scale: float, aov_cents: float
) -> _Profile:
    _, channel_type, ctr_range, cvr_range, impressions_scale = template
    return _Profile(
        impressions=size * impressions_scale * _lognormal(rng, 0.5),
        ctr=rng.uniform(*ctr_range),
        cvr=rng.uniform(*cvr_range),
        cpc_cents=rng.uniform(20, 250) * currency_scale,
        aov_cents=aov_cents * _lognormal(rng, 0.15),
        off_probability=rng.uniform(0.0, 0.08),
        lead_gen=channel_type == "OUTCOME_LEADS",
    )


class SyntheticData:
    """The synthetic world: accounts, their structure and their daily metrics."""

    def __init__(
        self,
        seed: int = 42,
        google_accounts: int = 3,
        meta_accounts: int = 3,
        microsoft_accounts: int = 3,
        tiktok_accounts: int = 3,
        linkedin_accounts: int = 3,
        *,
        dynamics: bool = True,
    ) -> None:
        # False: a flat world (no trend, promotion, budget-driven delivery, mid-month start or pause), for the
        # tests of detectors (the volume monitor) that need a clean baseline with only the faults they inject
        self.dynamics = dynamics
        for name, count in (
            ("google_accounts", google_accounts),
            ("meta_accounts", meta_accounts),
            ("microsoft_accounts", microsoft_accounts),
            ("tiktok_accounts", tiktok_accounts),
            ("linkedin_accounts", linkedin_accounts),
        ):
            if not 0 <= count <= MAX_ACCOUNTS:
                raise ValueError(f"{name} must be between 0 and {MAX_ACCOUNTS}, got {count}")
        self.seed = seed
        self.account_counts = {
            GOOGLE: google_accounts,
            META: meta_accounts,
            MICROSOFT: microsoft_accounts,
            TIKTOK: tiktok_accounts,
            LINKEDIN: linkedin_accounts,
        }
        self._accounts = {ch: self._make_accounts(ch, self.account_counts[ch]) for ch in CHANNELS}
        self._by_id = {ch: {a.account_id: a for a in accs} for ch, accs in self._accounts.items()}
        self.google_manager = Account(
            GOOGLE,
            _numeric_id(10, seed, GOOGLE, "manager"),
            "Sandbox Agency MCC",
            "EUR",
            "Europe/Paris",
            index=-1,
            manager=True,
        )
        # A cancelled client of the manager: listed by customer_client, never has data.
        self.google_cancelled = Account(
            GOOGLE,
            _numeric_id(10, seed, GOOGLE, "cancelled"),
            "Closed Client (cancelled)",
            "USD",
            "America/New_York",
            index=-2,
            status="CANCELED",
        )
        self._structure = lru_cache(maxsize=4096)(self._make_structure)

    def _make_accounts(self, channel: Channel, count: int) -> list[Account]:
        accounts: list[Account] = []
        used: set[str] = set()
        digits = {GOOGLE: 10, META: 15, MICROSOFT: 9, TIKTOK: 19, LINKEDIN: 9}[channel]
        offset = {GOOGLE: 0, META: 1, MICROSOFT: 2, TIKTOK: 3, LINKEDIN: 3}[channel]
        for index in range(count):
            salt = 0
            account_id = _numeric_id(digits, self.seed, channel, "account", index)
            while account_id in used:
                salt += 1
                account_id = _numeric_id(digits, self.seed, channel, "account", index, salt)
            used.add(account_id)
            currency, time_zone, market = LOCALES[(index + offset) % len(LOCALES)]
            if channel == LINKEDIN:  # LinkedIn reports every account's days in UTC
                time_zone = "UTC"
            brand = _BRANDS[index % len(_BRANDS)]
            cycle = index // len(_BRANDS)
            name = f"{brand} {market}" + (f" #{cycle + 1}" if cycle else "")
            accounts.append(Account(channel, account_id, name, currency, time_zone, index))
        return accounts

    def accounts(self, channel: Channel) -> list[Account]:
        """Client accounts with data (Google: the manager's enabled children)."""
        return list(self._accounts[channel])

    def account(self, channel: Channel, account_id: str) -> Account | None:
        """Look an account up by id; accepts `act_` prefixes and dashed Google ids."""
        key = normalize_account_id(account_id)
        if channel == GOOGLE:
            if key == self.google_manager.account_id:
                return self.google_manager
            if key == self.google_cancelled.account_id:
                return self.google_cancelled
        return self._by_id[channel].get(key)

    def structure(self, channel: Channel, account_id: str) -> AccountStructure:
        account = self.account(channel, account_id)
        if account is None or account.index < 0:
            raise KeyError(f"no {channel} client account {account_id!r}")
        return self._structure(account)

    def _make_structure(self, account: Account) -> AccountStructure:
        channel = account.channel
        rng = rng_for(self.seed, channel, "structure", account.account_id)
        scale = _CURRENCY_SCALE.get(account.currency, 1.0)
        templates = {
            GOOGLE: _GOOGLE_CAMPAIGNS,
            META: _META_CAMPAIGNS,
            MICROSOFT: _MICROSOFT_CAMPAIGNS,
            TIKTOK: _TIKTOK_CAMPAIGNS,
            LINKEDIN: _LINKEDIN_CAMPAIGNS,
        }[channel]
        n_campaigns = rng.randint(2, 4)
        chosen: list[_Template] = [templates[(account.index + k) % len(templates)] for k in range(n_campaigns)]
        if channel == GOOGLE:
            chosen.append(_PMAX)
        account_size = (
            _lognormal(rng, 0.6) * {GOOGLE: 900, META: 6000, MICROSOFT: 400, TIKTOK: 8000, LINKEDIN: 2500}[channel]
        )
        aov_cents = rng.uniform(35, 160) * 100 * scale
        id_digits = {
            GOOGLE: (11, 11, 12),
            META: (18, 18, 18),
            MICROSOFT: (9, 10, 11),
            TIKTOK: (19, 19, 19),
            LINKEDIN: (9, 9, 9),
        }[channel]
        campaign_status = CAMPAIGN_STATUS[channel]
        campaigns: list[Campaign] = []
        ad_groups: list[AdGroup] = []
        ads: list[Ad] = []
        profiles: dict[str, _Profile] = {}
        for c_index, template in enumerate(chosen):
            c_name, c_type = template[0], template[1]
            cid = _numeric_id(id_digits[0], self.seed, channel, account.account_id, "campaign", c_index)
            status = campaign_status[1] if (c_index == 1 and account.index % 3 == 1) else campaign_status[0]
            campaigns.append(Campaign(cid, f"{c_name} | {account.currency}", status, c_type))

            if c_type == "PERFORMANCE_MAX":
                profiles[cid] = _make_profile(
                    rng_for(self.seed, channel, "profile", cid),
                    template,
                    account_size * 2.0,
                    scale,
                    aov_cents,
                )
                continue
            for g_index in range(rng.randint(1, 3)):
                gid = _numeric_id(id_digits[1], self.seed, channel, cid, "group", g_index)
                group_label = {META: "Ad set", LINKEDIN: "Campaign"}.get(channel, "Ad group")
                ad_groups.append(AdGroup(gid, f"{group_label} {g_index + 1} - {c_name}", status, cid))
                n_ads = rng.randint(1, 3)
                for a_index in range(n_ads):
                    aid = _numeric_id(id_digits[2], self.seed, channel, gid, "ad", a_index)
                    formats = {
                        GOOGLE: _AD_FORMATS_GOOGLE,
                        META: _AD_FORMATS_META,
                        MICROSOFT: _AD_FORMATS_MICROSOFT,
                        TIKTOK: _AD_FORMATS_TIKTOK,
                        LINKEDIN: _AD_FORMATS_LINKEDIN,
                    }[channel]
                    fmt = formats[(g_index + a_index) % len(formats)]
                    ads.append(Ad(aid, f"{fmt} {a_index + 1}", status, gid, cid))
                    profiles[aid] = _make_profile(
                        rng_for(self.seed, channel, "profile", aid),
                        template,
                        account_size / n_ads,
                        scale,
                        aov_cents,
                    )
        return AccountStructure(account, tuple(campaigns), tuple(ad_groups), tuple(ads), profiles)

    def campaign_status(self, channel: Channel, account_id: str, campaign_id: str, as_of: date) -> str:
        """The campaign's status as its snapshots report it on `as_of`: the channel's paused word from the day
        sandbox.dynamics pauses it, else its structural status."""
        campaign = self.structure(channel, account_id).campaign_by_id[campaign_id]
        if not self.dynamics:
            return campaign.status
        paused_from = dynamics.campaign_paused_from(self, channel, account_id, campaign_id, as_of)
        if paused_from is not None and as_of >= paused_from:
            return CAMPAIGN_STATUS[channel][1]
        return campaign.status

    def records(self, channel: Channel, account_id: str, day: date, as_of: date) -> list[DailyRecord]:
        """Leaf metrics of one account and day as reported on `as_of`; rows without impressions are absent."""
        if day > as_of:
            return []
        account = self.account(channel, account_id)
        if account is None or account.index < 0:
            return []
        structure = self._structure(account)
        share = late_share(channel, day, as_of)
        running = {
            c.campaign_id: c.channel_type
            for c in structure.campaigns
            if not self.dynamics or dynamics.delivers(self, channel, account.account_id, c.campaign_id, day, as_of)
        }
        lift, conversion_lift = (
            dynamics.account_lift(self.seed, channel, account.account_id, day) if self.dynamics else (1.0, 1.0)
        )
        out: list[DailyRecord] = []
        units: Iterable[tuple[str, str, str | None, str | None]] = [
            (a.ad_id, a.campaign_id, a.ad_group_id, a.ad_id) for a in structure.ads
        ]
        units = list(units) + [
            (c.campaign_id, c.campaign_id, None, None)
            for c in structure.campaigns
            if c.channel_type == "PERFORMANCE_MAX"
        ]
        places = exponent(account.currency)
        for unit_id, campaign_id, ad_group_id, ad_id in units:
            if campaign_id not in running:
                continue
            budget = (
                dynamics.budget_factor(self.seed, channel, campaign_id, ad_group_id, running[campaign_id], day)
                if self.dynamics
                else 1.0
            )
            record = self._unit_day(
                channel,
                account.account_id,
                places,
                structure.profiles[unit_id],
                unit_id,
                day,
                share,
                campaign_id,
                ad_group_id,
                ad_id,
                lift * budget,
                conversion_lift,
            )
            if record is not None:
                out.append(record)
        return out

    def _unit_day(
        self,
        channel: Channel,
        account_id: str,
        places: int,
        profile: _Profile,
        unit_id: str,
        day: date,
        share: float,
        campaign_id: str,
        ad_group_id: str | None,
        ad_id: str | None,
        lift: float = 1.0,
        conversion_lift: float = 1.0,
    ) -> DailyRecord | None:
        """One unit's day; `lift` scales its impressions (trend, promotion, budget: sandbox.dynamics) and
        `conversion_lift` its conversion rate."""
        rng = rng_for(self.seed, channel, unit_id, day.isoformat())
        if rng.random() < profile.off_probability:
            return None
        season = 1.0 + 0.12 * math.sin(2 * math.pi * day.timetuple().tm_yday / 365.25)
        factor = WEEKDAY_FACTORS[day.weekday()] * season * _lognormal(rng, 0.18)
        impressions = round(profile.impressions * factor * lift)
        if impressions <= 0:
            return None
        clicks = min(impressions, round(impressions * profile.ctr * _lognormal(rng, 0.15)))
        cost_cents = clicks * profile.cpc_cents * _lognormal(rng, 0.1)
        cvr = profile.cvr * conversion_lift
        conv_final = clicks * cvr * _lognormal(rng, 0.3)
        value_cents_final = conv_final * profile.aov_cents * _lognormal(rng, 0.2)
        vtc_final = impressions * 0.0004 * _lognormal(rng, 0.4)
        common = {
            "channel": channel,
            "account_id": account_id,
            "day": day,
            "campaign_id": campaign_id,
            "ad_group_id": ad_group_id,
            "ad_id": ad_id,
            "impressions": impressions,
            "clicks": clicks,
            "cost_micros": _minor_micros(cost_cents, places),
        }
        if channel != META:  # Google, Microsoft and LinkedIn report conversions and their value per row
            conversions_centi = round(round(conv_final * 100) * share)
            if channel == LINKEDIN:  # externalWebsiteConversions: whole conversions
                conversions_centi = round(conversions_centi / 100) * 100
            return DailyRecord(
                **common,
                conversions_centi=conversions_centi,
                conversions_value_micros=_minor_micros(value_cents_final * share, places),
                view_through_conversions=round(round(vtc_final) * share),
            )
        purchases = int(conv_final) + (1 if rng.random() < conv_final % 1 else 0)
        link_clicks = round(clicks * rng.uniform(0.8, 0.95))
        final_counts = {
            "link_click": link_clicks,
            "landing_page_view": round(link_clicks * rng.uniform(0.6, 0.85)),
            "add_to_cart": round(purchases * rng.uniform(2.0, 3.5)),
            "lead": round(clicks * cvr * rng.uniform(0.8, 1.2)) if profile.lead_gen else 0,
            "purchase": 0 if profile.lead_gen else purchases,
        }
        final_counts["offsite_conversion.fb_pixel_purchase"] = final_counts["purchase"]
        final_counts["omni_purchase"] = final_counts["purchase"]
        purchase_value_cents = value_cents_final if final_counts["purchase"] else 0.0
        actions = tuple(
            (t, round(final_counts[t] * share) if t in _LATE_META_ACTIONS else final_counts[t])
            for t in META_ACTION_TYPES
        )
        # The value arrives with the purchases: proportional to the purchases reported so far.
        reported = dict(actions)["purchase"]
        value = _minor_micros(purchase_value_cents * reported / purchases, places) if reported else 0
        return DailyRecord(
            **common,
            reach=max(1, round(impressions / rng.uniform(1.05, 1.6))),
            actions=tuple((t, n) for t, n in actions if n > 0),
            action_value_micros=tuple((t, value) for t in META_VALUE_ACTION_TYPES if value > 0),
        )


def normalize_account_id(account_id: str | int) -> str:
    """`act_123` -> `123`, `123-456-7890` -> `1234567890`."""
    text = str(account_id).strip()
    if text.startswith("act_"):
        text = text[4:]
    return text.replace("-", "")
