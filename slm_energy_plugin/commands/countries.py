"""``slm-energy countries``: the grid carbon intensities emissions are computed with."""

from __future__ import annotations

import argparse
import sys

from tabulate import tabulate

from ..energy.intensity import SOURCE, country_table

NAME = "countries"
HELP = "list country codes and grid carbon intensities"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("search", nargs="?", default="", help="filter by code or name (case-insensitive)")


def run(args: argparse.Namespace) -> int:
    needle = args.search.lower()
    rows = [
        (code, row.get("country_name", ""), round(float(row["carbon_intensity"]), 1), row.get("year", ""))
        for code, row in sorted(country_table().items())
        if needle in code.lower() or needle in str(row.get("country_name", "")).lower()
    ]
    if not rows:
        # An empty table with exit 0 reads as "no data"; a search that matches nothing is a usage error.
        print(f"slm-energy countries: no country matches {args.search!r}; "
              "try part of a name (e.g. 'germ') or an ISO 3166 alpha-3 code (e.g. 'DEU')", file=sys.stderr)
        return 2
    print(tabulate(rows, headers=["code", "country", "g CO2eq/kWh", "year"]))
    print(f"\nsource: {SOURCE}")
    return 0
