"""LinkedIn geo ids (urn:li:geo:<id>) of countries -> ISO 3166-1 alpha-2 code and English name. An id not
listed keeps its URN digits with no code (the country report shows it as "(not set)")."""

from __future__ import annotations

COUNTRIES: dict[str, tuple[str, str]] = {
    "103644278": ("US", "United States"),
    "101174742": ("CA", "Canada"),
    "101165590": ("GB", "United Kingdom"),
    "105015875": ("FR", "France"),
    "101282230": ("DE", "Germany"),
    "102890719": ("NL", "Netherlands"),
    "100565514": ("BE", "Belgium"),
    "105646813": ("ES", "Spain"),
    "103350119": ("IT", "Italy"),
    "105117694": ("SE", "Sweden"),
    "103819153": ("NO", "Norway"),
    "106693272": ("CH", "Switzerland"),
    "101452733": ("AU", "Australia"),
    "101355337": ("JP", "Japan"),
    "102454443": ("SG", "Singapore"),
    "102713980": ("IN", "India"),
    "106057199": ("BR", "Brazil"),
}
