"""Pure: GET /stats/versions — versions of active installations by their latest report, the newest
version per product by semantic ordering, and each release's adoption per week."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from receiver.analytics.distribution import shares, weekly_shares
from receiver.analytics.version_order import newest, version_key
from receiver.analytics.week_window import WeekWindow

NAMES = ("product", "version")


def _renamed(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "version": row["app_version"]} for row in rows]


def _order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By product, then newest version first (two stable sorts)."""
    newest_first = sorted(entries, key=lambda entry: version_key(entry["version"]), reverse=True)
    return sorted(newest_first, key=lambda entry: str(entry["product"]))


def newest_versions(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    by_product: dict[str, list[str]] = {}
    for row in rows:
        by_product.setdefault(str(row["product"]), []).append(str(row["app_version"]))
    return {
        product: found
        for product, versions in sorted(by_product.items())
        if (found := newest(versions)) is not None
    }


def versions_answer(
    window: WeekWindow,
    active: int,
    current: Sequence[Mapping[str, Any]],
    active_rows: Iterable[Mapping[str, Any]],
    weekly: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    return {
        **window.header(),
        "active_installations": active,
        "newest": newest_versions(current),
        "current": shares(_renamed(current), NAMES, active, _order),
        "series": weekly_shares(
            window, active_rows, _renamed(weekly), names=NAMES, plural="versions", order=_order
        ),
    }
