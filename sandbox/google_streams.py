"""The Google Ads sandbox's breakdowns and entity details: keywords, search terms, regions, devices and
conversion actions that split each leaf record exactly (sandbox.segments), and the entities' state
(names, statuses, budgets, landing pages) on a day (sandbox.history).

Every split is of a leaf DailyRecord of `Truth.records`, so the keyword rows of an ad group and day sum
to its ad rows, and a campaign's region, device and conversion-action rows sum to its campaign totals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from sandbox import history
from sandbox.data import LOCALES, AccountStructure, Ad, AdGroup, Campaign, DailyRecord, money_unit_micros
from sandbox.hashing import stable_hash
from sandbox.segments import segment_weights, split_integer, split_record

_CENT = 10_000
NO_END_DATE = "2037-12-30 23:59:59"  # what the API returns for a campaign without an end date


@dataclass(frozen=True)
class Amounts:
    """Additive metrics in integer units (money in micros, conversions in hundredths)."""

    impressions: int = 0
    clicks: int = 0
    cost_micros: int = 0
    conversions_centi: int = 0
    value_micros: int = 0
    view_through: int = 0
    all_conversions_centi: int = 0
    all_value_micros: int = 0
    video_views: int = 0

    @classmethod
    def of(cls, record: DailyRecord) -> Amounts:
        """A record's metrics; all conversions are the conversions plus view-through conversions."""
        return cls(
            record.impressions,
            record.clicks,
            record.cost_micros,
            record.conversions_centi,
            record.conversions_value_micros,
            record.view_through_conversions,
            record.conversions_centi + 100 * record.view_through_conversions,
            record.conversions_value_micros,
        )

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(*(a + b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, ...]:
        return (
            self.impressions,
            self.clicks,
            self.cost_micros,
            self.conversions_centi,
            self.value_micros,
            self.view_through,
            self.all_conversions_centi,
            self.all_value_micros,
            self.video_views,
        )

    def metrics(self) -> dict[str, Any]:
        """GAQL metric fields."""
        conversions = self.conversions_centi / 100
        return {
            "metrics.impressions": self.impressions,
            "metrics.clicks": self.clicks,
            "metrics.cost_micros": self.cost_micros,
            "metrics.conversions": conversions,
            "metrics.conversions_value": self.value_micros / 1_000_000,
            "metrics.view_through_conversions": self.view_through,
            "metrics.all_conversions": self.all_conversions_centi / 100,
            "metrics.all_conversions_value": self.all_value_micros / 1_000_000,
            "metrics.ctr": self.clicks / self.impressions if self.impressions else 0.0,
            "metrics.average_cpc": self.cost_micros / self.clicks if self.clicks else 0.0,
            "metrics.average_cpm": self.cost_micros * 1000 / self.impressions if self.impressions else 0.0,
            "metrics.cost_per_conversion": self.cost_micros * 100 / self.conversions_centi
            if self.conversions_centi
            else 0.0,
            "metrics.value_per_conversion": self.value_micros / 10_000 / self.conversions_centi
            if self.conversions_centi
            else 0.0,
            "metrics.interactions": self.clicks,
            "metrics.video_trueview_views": self.video_views,
            # the sandbox's conversions do not move between days: by conversion date = by interaction date
            "metrics.conversions_by_conversion_date": conversions,
            "metrics.conversions_value_by_conversion_date": self.value_micros / 1_000_000,
            "metrics.all_conversions_by_conversion_date": self.all_conversions_centi / 100,
            "metrics.all_conversions_value_by_conversion_date": self.all_value_micros / 1_000_000,
        }


@dataclass(frozen=True)
class Keyword:
    criterion_id: str
    ad_group_id: str
    text: str
    match_type: str


@dataclass(frozen=True)
class GeoTarget:
    """A geo target constant (ids from Google's geotargets list)."""

    id: int
    name: str
    country_code: str
    target_type: str
    parent_id: int | None = None

    @property
    def canonical_name(self) -> str:
        parent = GEO_TARGETS.get(self.parent_id) if self.parent_id else None
        return f"{self.name},{parent.name}" if parent else self.name


@dataclass(frozen=True)
class ConversionAction:
    id: str
    name: str
    category: str
    primary: bool


def _countries_and_regions() -> dict[int, GeoTarget]:
    # (country id, ISO code, name, [(region id, name)]). Country ids are 2000 + ISO 3166 numeric; the US and
    # UK region ids are Google's; the others are illustrative.
    table: tuple[tuple[int, str, str, tuple[tuple[int, str], ...]], ...] = (
        (
            2250,
            "FR",
            "France",
            (
                (20321, "Ile-de-France"),
                (20328, "Provence-Alpes-Cote d'Azur"),
                (9068897, "Auvergne-Rhone-Alpes"),
                (9069524, "Occitanie"),
                (9068898, "Nouvelle-Aquitaine"),
            ),
        ),
        (
            2840,
            "US",
            "United States",
            (
                (21137, "California"),
                (21167, "New York"),
                (21176, "Texas"),
                (21142, "Florida"),
                (21180, "Washington"),
            ),
        ),
        (
            2826,
            "GB",
            "United Kingdom",
            ((20339, "England"), (20341, "Scotland"), (20342, "Wales"), (20340, "Northern Ireland")),
        ),
        (
            2276,
            "DE",
            "Germany",
            (
                (20228, "Bavaria"),
                (20229, "Berlin"),
                (20233, "North Rhine-Westphalia"),
                (20231, "Hamburg"),
                (20226, "Baden-Wurttemberg"),
            ),
        ),
        (2752, "SE", "Sweden", ((20927, "Stockholm County"), (20919, "Vastra Gotaland County"))),
        (2756, "CH", "Switzerland", ((20141, "Zurich"), (20133, "Geneva"))),
        (2036, "AU", "Australia", ((20035, "New South Wales"), (20037, "Victoria"), (20036, "Queensland"))),
    )
    targets: dict[int, GeoTarget] = {}
    for country_id, code, name, regions in table:
        targets[country_id] = GeoTarget(country_id, name, code, "Country")
        for region_id, region in regions:
            targets[region_id] = GeoTarget(region_id, region, code, "Region", country_id)
    return targets


GEO_TARGETS: dict[int, GeoTarget] = _countries_and_regions()
_MARKET_COUNTRY = {"FR": 2250, "US": 2840, "UK": 2826, "DE": 2276, "US West": 2840, "SE": 2752, "CH": 2756, "AU": 2036}
_NEIGHBOURS = {2250: (2276, 2756), 2840: (2826, 2036), 2826: (2250, 2840), 2276: (2250, 2756), 2752: (2276, 2826)}
_DEVICES = {
    "SEARCH": ("MOBILE", "DESKTOP", "TABLET"),
    "SHOPPING": ("MOBILE", "DESKTOP", "TABLET"),
    "DISPLAY": ("MOBILE", "DESKTOP", "TABLET", "OTHER"),
    "VIDEO": ("MOBILE", "CONNECTED_TV", "DESKTOP", "TABLET"),
    "PERFORMANCE_MAX": ("MOBILE", "DESKTOP", "TABLET", "CONNECTED_TV", "OTHER"),
}
# segments.ad_network_type of each campaign channel type: the networks its spend is split across
_NETWORKS = {
    "SEARCH": ("SEARCH", "SEARCH_PARTNERS"),
    "SHOPPING": ("SEARCH", "SEARCH_PARTNERS"),
    "DISPLAY": ("CONTENT",),
    "VIDEO": ("YOUTUBE", "CONTENT"),
    "PERFORMANCE_MAX": ("MIXED",),
}
_BIDDING = {
    "SEARCH": "MAXIMIZE_CONVERSIONS",
    "SHOPPING": "TARGET_ROAS",
    "DISPLAY": "TARGET_CPA",
    "VIDEO": "TARGET_CPM",
    "PERFORMANCE_MAX": "MAXIMIZE_CONVERSION_VALUE",
}
_AD_GROUP_TYPES = {
    "SEARCH": "SEARCH_STANDARD",
    "SHOPPING": "SHOPPING_PRODUCT_ADS",
    "DISPLAY": "DISPLAY_STANDARD",
    "VIDEO": "VIDEO_RESPONSIVE",
}
_AD_TYPES = {
    "Responsive Search Ad": "RESPONSIVE_SEARCH_AD",
    "Expanded Text Ad": "EXPANDED_TEXT_AD",
    "Responsive Display Ad": "RESPONSIVE_DISPLAY_AD",
    "Video Ad": "VIDEO_RESPONSIVE_AD",
}
# What each sandbox brand sells: generic keywords and landing-page categories.
_PRODUCTS = {
    "Northwind": ("tents", "hiking boots", "sleeping bags", "camping gear", "rain jackets", "backpacks"),
    "Contoso": ("sofas", "dining tables", "bed linen", "floor lamps", "rugs", "bookshelves"),
    "Fabrikam": ("summer dresses", "linen shirts", "sneakers", "leather jackets", "jeans", "handbags"),
    "Tailspin": ("wooden toys", "board games", "puzzles", "building blocks", "plush toys", "kids scooters"),
    "Wingtip": ("running shoes", "tennis rackets", "yoga mats", "cycling helmets", "gym bags", "swimwear"),
    "Adatum": ("face serum", "moisturizer", "sunscreen", "lipstick", "shampoo", "perfume"),
    "Litware": ("headphones", "laptops", "smart watches", "phone cases", "speakers", "monitors"),
    "Proseware": ("novels", "cookbooks", "children books", "travel guides", "comics", "audiobooks"),
}
_BRAND_MODIFIERS = ("", " shop", " sale", " online", " store", " reviews")
_TERM_PATTERNS = ("{}", "buy {}", "{} near me", "best {}", "cheap {}", "{} sale")
_ACTIONS = (
    ("Purchase", "PURCHASE", True),
    ("Lead form", "SUBMIT_LEAD_FORM", True),
    ("Phone call", "PHONE_CALL_LEAD", True),
    ("Store visit", "STORE_VISIT", False),
    ("Add to cart", "ADD_TO_CART", False),
)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _numeric(digits: int, *parts: object) -> str:
    low = 10 ** (digits - 1)
    return str(low + stable_hash(*parts) % (9 * low))


@dataclass
class GoogleAccountDetails:
    """Everything the Google Ads sandbox says about one account beyond its daily leaf records."""

    seed: int
    structure: AccountStructure
    _keywords: dict[str, tuple[Keyword, ...]] = field(default_factory=dict, repr=False)

    @property
    def account_id(self) -> str:
        return self.structure.account.account_id

    @cached_property
    def brand(self) -> str:
        return self.structure.account.name.split()[0]

    @cached_property
    def brand_name(self) -> str:
        return " ".join(self.structure.account.name.split()[:2])

    @cached_property
    def money_unit(self) -> int:
        """Micros in the account currency's smallest unit: breakdowns split money in it."""
        return money_unit_micros(self.structure.account.currency)

    @cached_property
    def market(self) -> str:
        return LOCALES[self.structure.account.index % len(LOCALES)][2]

    @cached_property
    def products(self) -> tuple[str, ...]:
        return _PRODUCTS.get(self.brand, _PRODUCTS["Northwind"])

    # entity state on a day --------------------------------------------------------------------------

    def campaign_state(self, campaign: Campaign, day: date) -> history.EntityState:
        return history.state(self.seed, campaign.campaign_id, campaign.name, day, can_pause=False)

    def ad_group_state(self, group: AdGroup, day: date) -> history.EntityState:
        return history.state(self.seed, group.ad_group_id, group.name, day, can_pause=False)

    def ad_state(self, ad: Ad, day: date) -> history.EntityState:
        """Paused exactly on the days `Truth.records` drops the ad's metrics (same call as Truth.ad_paused)."""
        return history.state(self.seed, ad.ad_id, ad.name, day)

    def ad_status(self, ad: Ad, day: date) -> str:
        return "PAUSED" if self.ad_state(ad, day).paused else "ENABLED"

    def budget_id(self, campaign: Campaign) -> str:
        return _numeric(11, self.seed, "budget", campaign.campaign_id)

    def budget_micros(self, campaign: Campaign, day: date) -> int:
        """The daily budget on `day`: about 1.3x the campaign's expected spend, stepping with its history."""
        units = [u for u, a in self._units() if a == campaign.campaign_id]
        expected_cents = sum(
            self.structure.profiles[u].impressions
            * self.structure.profiles[u].ctr
            * self.structure.profiles[u].cpc_cents
            for u in units
        )
        base_units = max(5, round(expected_cents * 1.3 / 100))
        return round(base_units * self.campaign_state(campaign, day).budget_factor) * 1_000_000

    def _units(self) -> list[tuple[str, str]]:
        units = [(a.ad_id, a.campaign_id) for a in self.structure.ads]
        units += [
            (c.campaign_id, c.campaign_id) for c in self.structure.campaigns if c.channel_type == "PERFORMANCE_MAX"
        ]
        return units

    def campaign_dates(self, campaign: Campaign, start: date | None = None) -> tuple[str, str]:
        """(start, end) date-times; `start` is the day a campaign of sandbox.dynamics starts, else one in 2024."""
        if start is None:
            start = date(2024, 1, 1) + timedelta(days=stable_hash(self.seed, "start", campaign.campaign_id) % 300)
        return f"{start.isoformat()} 00:00:00", NO_END_DATE

    @staticmethod
    def bidding_strategy_type(campaign: Campaign) -> str:
        return _BIDDING.get(campaign.channel_type, "MANUAL_CPC")

    def ad_group_type(self, group: AdGroup) -> str:
        return _AD_GROUP_TYPES.get(self.structure.campaign_by_id[group.campaign_id].channel_type, "SEARCH_STANDARD")

    def cpc_bid_micros(self, group: AdGroup) -> int:
        return (20 + stable_hash(self.seed, "cpc-bid", group.ad_group_id) % 230) * _CENT

    @staticmethod
    def ad_type(ad: Ad) -> str:
        return _AD_TYPES.get(ad.name.rsplit(" ", 1)[0], "RESPONSIVE_SEARCH_AD")

    def final_urls(self, ad: Ad) -> list[str]:
        """The ad's landing page with UTM parameters (stable: renames do not change URLs)."""
        group = self.structure.ad_group_by_id[ad.ad_group_id]
        campaign = self.structure.campaign_by_id[ad.campaign_id]
        position = [g.ad_group_id for g in self.structure.ad_groups].index(group.ad_group_id)
        category = self.products[position % len(self.products)]
        keywords = self.keywords(group.ad_group_id)
        term = keywords[0].text if keywords else group.name
        country = slug(self.market.split()[0])
        url = (
            f"https://www.{slug(self.brand)}.example/{country}/{slug(category)}"
            f"?utm_source=google&utm_medium=cpc&utm_campaign={slug(campaign.name)}"
            f"&utm_content={ad.ad_id}&utm_term={slug(term).replace('-', '+')}"
        )
        return [url]

    # keywords and search terms -----------------------------------------------------------------------

    def keywords(self, ad_group_id: str) -> tuple[Keyword, ...]:
        """3 to 6 keywords of an ad group of a SEARCH campaign; none elsewhere."""
        if ad_group_id not in self._keywords:
            self._keywords[ad_group_id] = self._make_keywords(ad_group_id)
        return self._keywords[ad_group_id]

    def _make_keywords(self, ad_group_id: str) -> tuple[Keyword, ...]:
        group = self.structure.ad_group_by_id[ad_group_id]
        campaign = self.structure.campaign_by_id[group.campaign_id]
        if campaign.channel_type != "SEARCH":
            return ()
        count = 3 + stable_hash(self.seed, "keyword-count", ad_group_id) % 4
        position = [g.ad_group_id for g in self.structure.ad_groups if g.campaign_id == campaign.campaign_id].index(
            ad_group_id
        )
        if campaign.name.startswith("Brand"):
            brand = self.brand_name.lower()
            texts = [
                f"{brand}{m}" if i % 2 == 0 else f"{self.brand.lower()}{m}" for i, m in enumerate(_BRAND_MODIFIERS)
            ]
            texts = list(dict.fromkeys(texts))
        else:
            texts = list(self.products)
        start = (position * 2) % len(texts)
        chosen = [texts[(start + i) % len(texts)] for i in range(min(count, len(texts)))]
        match_types = ("EXACT", "PHRASE", "BROAD")
        return tuple(
            Keyword(
                _numeric(12, self.seed, "criterion", ad_group_id, text),
                ad_group_id,
                text,
                match_types[stable_hash(self.seed, "match", ad_group_id, text) % 3],
            )
            for text in chosen
        )

    @staticmethod
    def search_terms(keyword: Keyword, seed: int) -> tuple[tuple[str, str], ...]:
        """1 to 4 (search term, status) pairs a keyword matched; the keyword's own text is ADDED."""
        count = 1 + stable_hash(seed, "term-count", keyword.criterion_id) % 4
        return tuple(
            (pattern.format(keyword.text), "ADDED" if i == 0 else "NONE")
            for i, pattern in enumerate(_TERM_PATTERNS[:count])
        )

    def keyword_slices(self, record: DailyRecord) -> Iterator[tuple[Keyword, DailyRecord]]:
        """An ad record split across its ad group's keywords (nothing outside SEARCH campaigns)."""
        if record.ad_group_id is None:
            return
        keywords = self.keywords(record.ad_group_id)
        if not keywords:
            return
        weights = segment_weights(keywords, 0.7, self.seed, "keyword", record.ad_id, record.day.isoformat())
        yield from zip(keywords, split_record(record, weights, self.money_unit), strict=True)

    def search_term_slices(self, record: DailyRecord) -> Iterator[tuple[Keyword, str, str, DailyRecord]]:
        for keyword, part in self.keyword_slices(record):
            terms = self.search_terms(keyword, self.seed)
            weights = segment_weights(terms, 0.5, self.seed, "term", keyword.criterion_id, record.ad_id, record.day)
            for (term, status), piece in zip(terms, split_record(part, weights, self.money_unit), strict=True):
                yield keyword, term, status, piece

    # campaign breakdowns -----------------------------------------------------------------------------

    def regions(self, campaign_id: str) -> tuple[tuple[GeoTarget, GeoTarget, str], ...]:
        """(country, region, location type) of a campaign: 2 to 5 regions in 1 to 3 countries."""
        home = _MARKET_COUNTRY.get(self.market, 2840)
        n_countries = 1 + stable_hash(self.seed, "countries", campaign_id) % 3
        countries = [home, *[c for c in _NEIGHBOURS.get(home, (2840, 2826)) if c != home]][:n_countries]
        pools = {c: [t for t in GEO_TARGETS.values() if t.parent_id == c] for c in countries}
        wanted = max(2, n_countries, 2 + stable_hash(self.seed, "regions", campaign_id) % 4)
        chosen: list[tuple[GeoTarget, GeoTarget]] = []
        depth = 0
        while len(chosen) < wanted and depth < 5:
            for c in countries:
                if depth < len(pools[c]) and len(chosen) < wanted:
                    chosen.append((GEO_TARGETS[c], pools[c][depth]))
            depth += 1
        last = len(chosen) - 1
        return tuple(
            (country, region, "AREA_OF_INTEREST" if i == last and last >= 2 else "LOCATION_OF_PRESENCE")
            for i, (country, region) in enumerate(chosen)
        )

    def region_slices(self, record: DailyRecord) -> Iterator[tuple[GeoTarget, GeoTarget, str, DailyRecord]]:
        regions = self.regions(record.campaign_id)
        weights = segment_weights(regions, 0.6, self.seed, "geo", record.ad_id or record.campaign_id, record.day)
        for (country, region, location_type), part in zip(
            regions, split_record(record, weights, self.money_unit), strict=True
        ):
            yield country, region, location_type, part

    def devices(self, campaign_id: str) -> tuple[str, ...]:
        return _DEVICES.get(self.structure.campaign_by_id[campaign_id].channel_type, ("MOBILE", "DESKTOP", "TABLET"))

    def device_slices(self, record: DailyRecord) -> Iterator[tuple[str, DailyRecord]]:
        devices = self.devices(record.campaign_id)
        weights = segment_weights(devices, 0.55, self.seed, "device", record.ad_id or record.campaign_id, record.day)
        yield from zip(devices, split_record(record, weights, self.money_unit), strict=True)

    def networks(self, campaign_id: str) -> tuple[str, ...]:
        return _NETWORKS.get(self.structure.campaign_by_id[campaign_id].channel_type, ("SEARCH",))

    def network_slices(self, record: DailyRecord) -> Iterator[tuple[str, DailyRecord]]:
        """A record split across its campaign's ad networks: money in whole minor units, summing exactly."""
        networks = self.networks(record.campaign_id)
        weights = segment_weights(networks, 0.25, self.seed, "network", record.ad_id or record.campaign_id, record.day)
        yield from zip(networks, split_record(record, weights, self.money_unit), strict=True)

    def video_views(self, record: DailyRecord) -> int:
        """TrueView views of a leaf record: 15-34% of the impressions of a VIDEO campaign, none elsewhere."""
        if self.structure.campaign_by_id[record.campaign_id].channel_type != "VIDEO":
            return 0
        rate = 15 + stable_hash(self.seed, "view-rate", record.campaign_id) % 20
        return record.impressions * rate // 100

    @cached_property
    def conversion_actions(self) -> tuple[ConversionAction, ...]:
        return tuple(
            ConversionAction(
                _numeric(9, self.seed, "conversion-action", self.account_id, name), name, category, primary
            )
            for name, category, primary in _ACTIONS
        )

    def campaign_actions(self, campaign_id: str) -> tuple[tuple[ConversionAction, ...], ConversionAction]:
        """A campaign's 2 or 3 primary actions and its secondary (all_conversions only) action."""
        primary = [a for a in self.conversion_actions if a.primary]
        secondary = [a for a in self.conversion_actions if not a.primary]
        pick = stable_hash(self.seed, "actions", campaign_id)
        return tuple(primary[: 2 + pick % 2]), secondary[(pick // 2) % len(secondary)]

    def conversion_action_slices(self, record: DailyRecord) -> Iterator[tuple[ConversionAction, Amounts]]:
        """Conversions and value split exactly across the primary actions; view-through conversions
        counted by the secondary action in all_conversions only (so all_conversions sums to the campaign's)."""
        primary, secondary = self.campaign_actions(record.campaign_id)
        weights = segment_weights(primary, 0.5, self.seed, "action", record.ad_id or record.campaign_id, record.day)
        counts = split_integer(record.conversions_centi, weights)
        unit = self.money_unit
        values = [v * unit for v in split_integer(record.conversions_value_micros // unit, weights)]
        for action, count, value in zip(primary, counts, values, strict=True):
            yield (
                action,
                Amounts(
                    conversions_centi=count, value_micros=value, all_conversions_centi=count, all_value_micros=value
                ),
            )
        if record.view_through_conversions:
            yield secondary, Amounts(all_conversions_centi=100 * record.view_through_conversions)


def sum_amounts(amounts: Sequence[Amounts]) -> Amounts:
    total = Amounts()
    for a in amounts:
        total += a
    return total
