"""The program's vocabulary: codes stored in the database and the titles people read.

Each list is ordered as it should appear in forms and reports.
"""

from __future__ import annotations

GOVERNMENT_TYPES: dict[str, str] = {
    "state": "State",
    "territory": "Territory",
    "county": "County",
    "city": "City",
    "tribal": "Tribal government",
    "regional_council": "Regional council",
}

PRIORITY_AREAS: dict[str, str] = {
    "trade": "Trade, investment and tourism",
    "climate": "Climate and energy",
    "migration": "Migration and diaspora engagement",
    "gender": "Gender equity",
    "democracy": "Democratic resilience and good governance",
    "health": "Public health and pandemic recovery",
    "education": "Education, culture and exchanges",
    "technology": "Technology and innovation",
}

PARTNER_TYPES: dict[str, str] = {
    "academic": "Academic or research institution",
    "nonprofit": "Nonprofit or community-based organization",
    "diaspora": "Diaspora community",
    "philanthropy": "Philanthropy",
    "business": "Business or corporate program",
    "consulate": "Foreign consular mission",
    "network": "Subnational network",
}

# SF-424A Section B object class categories.
BUDGET_CATEGORIES: dict[str, str] = {
    "personnel": "Personnel",
    "fringe": "Fringe benefits",
    "travel": "Travel",
    "equipment": "Equipment",
    "supplies": "Supplies",
    "contractual": "Contractual",
    "other": "Other",
    "indirect": "Indirect charges",
}

# The impact benchmarks every application targets and every impact report measures.
INDICATORS: dict[str, str] = {
    "fdi_usd": "Foreign direct investment attracted (USD)",
    "jobs": "Jobs created",
    "delegations_hosted": "Foreign delegations hosted",
    "delegations_sent": "Delegations sent abroad",
    "direct_flights": "International direct flights added",
    "agreements": "Agreements or partnerships signed",
    "technical_exchanges": "Technical exchanges",
    "educational_exchanges": "Educational exchanges (students and staff)",
    "events": "International conferences and events attended or hosted",
    "people_reached": "People reached",
    "funds_spent_usd": "Funds spent to date (USD)",
}

# World regions, as the State Department's regional bureaus divide them.
REGIONS: dict[str, str] = {
    "AF": "Africa",
    "EAP": "East Asia and the Pacific",
    "EUR": "Europe and Eurasia",
    "NEA": "Near East and North Africa",
    "SCA": "South and Central Asia",
    "WHA": "Western Hemisphere",
}

# USPS codes of the states, the District of Columbia and the territories.
US_STATES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "AS": "American Samoa",
    "GU": "Guam",
    "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
}

TERRITORY_CODES = frozenset({"AS", "GU", "MP", "PR", "VI"})

ROLES: dict[str, str] = {
    "applicant": "Applicant",
    "reviewer": "Reviewer",
    "officer": "Program officer",
    "admin": "Administrator",
}

# The actor recorded when a job or a clock fires a transition.
SYSTEM_ROLE = "system"
