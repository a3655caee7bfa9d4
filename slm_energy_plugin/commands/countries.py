"""``slm-energy countries``: the grid carbon intensities emissions are computed with."""

from __future__ import annotations

import argparse

from tabulate import tabulate

from ..energy.intensity import SOURCE, country_table

NAME = "countries"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("search", nargs="?", default="", help="filter by code or name (case-insensitive)")


def run(args: argparse.Namespace) -> int:
    needle = args.search.lower()
    rows = [
        (code, row.get("country_name", ""), round(float(row["carbon_intensity"]), 1), row.get("year", ""))
        for code, row in sorted(country_table().items())
        if needle in code.lower() or needle in str(row.get("country_name", "")).lower()
    ]
    print(tabulate(rows, headers=["code", "country", "g CO2eq/kWh", "year"]))
    print(f"\nsource: {SOURCE}")
    return 0
