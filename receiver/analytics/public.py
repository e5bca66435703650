"""Pure: GET /public/stats — aggregates anyone may read, like Home Assistant's public analytics.

k-anonymity (k = 5): no bucket of fewer than `K` installations is revealed.
- Partitions (every active installation has exactly one country, mode, version): buckets below `K`
  are merged into `(other)`; when `(other)` itself stays below `K` — it could then be computed as
  the total minus the rest — the smallest shown buckets are merged into it until it reaches `K`.
- Yes/no splits (a feature, owning a printer family): shown only when both sides have at least `K`
  installations, as the total minus the one reveals the other.
- Below `K` active installations nothing is shown; a week of the series below `K` shows `null`.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from receiver.analytics.distribution import ratio

K = 5
OTHER = (
    "(other)"  # cannot collide with a sent value: parentheses are not allowed in payload strings
)


def merged_partition(
    entries: Iterable[Mapping[str, Any]], names: Sequence[str], total: int, k: int = K
) -> list[dict[str, Any]]:
    ordered = sorted(entries, key=lambda e: (-int(e["installations"]), *(str(e[n]) for n in names)))
    shown = [entry for entry in ordered if int(entry["installations"]) >= k]
    hidden = sum(
        int(entry["installations"]) for entry in ordered if int(entry["installations"]) < k
    )
    while 0 < hidden < k and shown:
        hidden += int(shown.pop()["installations"])
    result = [
        {
            **{name: entry[name] for name in names},
            "installations": int(entry["installations"]),
            "share": ratio(int(entry["installations"]), total),
        }
        for entry in shown
    ]
    if hidden >= k:
        result.append(
            {**dict.fromkeys(names, OTHER), "installations": hidden, "share": ratio(hidden, total)}
        )
    return result


def both_sides_at_least(count: int, total: int, k: int = K) -> bool:
    return count >= k and total - count >= k


def public_answer(
    header: Mapping[str, Any],
    active: int,
    sources: Mapping[str, Any],
    k: int = K,
) -> dict[str, Any]:
    """`sources`: the admin answers `countries`, `deployment_modes`, `versions`, `printers`,
    `features` and `installations` for the same range; only their counts are used."""
    if active < k:
        return {"k": k, **header, "active_installations": None}
    families = [
        {
            "family": entry["family"],
            "installations": entry["installations"],
            "share": ratio(entry["installations"], active),
        }
        for entry in sources["printers"]["by_family"]
        if both_sides_at_least(int(entry["installations"]), active, k)
    ]
    features = [
        {"feature": entry["feature"], "adoption": ratio(entry["installations"], active)}
        for entry in sources["features"]["features"]
        if both_sides_at_least(int(entry["installations"]), active, k)
    ]
    return {
        "k": k,
        **header,
        "active_installations": active,
        "countries": merged_partition(sources["countries"]["current"], ("country",), active, k),
        "deployment_modes": merged_partition(
            sources["deployment_modes"]["current"], ("mode",), active, k
        ),
        "versions": merged_partition(
            sources["versions"]["current"], ("product", "version"), active, k
        ),
        "printer_families": families,
        "features": features,
        "series": [
            {"week": entry["week"], "active": entry["active"] if entry["active"] >= k else None}
            for entry in sources["installations"]["series"]
        ],
    }
