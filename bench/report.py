"""The bench's summary: the table the README reports, and whether each target is met, with
what the runs say about why one is missed (repeated bodies, the machine's own limit)."""

import argparse

TARGET_RATIO, TARGET_P99_MS = 0.45, 20.0


def summary(results: list[dict], args: argparse.Namespace, flush: dict | None = None) -> str:
    """The table the README reports, and whether each target is met."""
    rate = format(args.rate, "g")
    lines = [f"{'database':<11} {'RMA req/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
             f"{'p99 ms @' + rate + '/s':>13} {'p99 ms @half':>15} {'peak MB/worker':>14} "
             f"{'floor req/s':>11} {'floor p99 @' + rate + '/s':>16} {'ratio':>6}"]
    lines.append(f"{'(before/after)':>{len(lines[0]) - 7}}")  # under the floor's p99
    verdicts = []
    for r in results:
        floor_rps, ratio = r["floor_max"]["rps"], r["ratio"]
        peak = "/".join(f"{mb:.0f}" for mb in r["rma_peak_mb"][:args.workers])
        fixed, half = r["rma_fixed"], r["rma_half"]
        at_half = f"{half['p99_ms']:.1f} @{half['rate']:g}/s" if half else "-"
        floor_fixed = f"{r['floor_fixed']['p99_ms']:.1f}/{r['floor_fixed_after']['p99_ms']:.1f}"
        lines.append(f"{r['database']:<11} {r['rma_max']['rps']:>9.1f} "
                     f"{r['rma_max']['p50_ms']:>7.1f} {r['rma_max']['p99_ms']:>7.1f} "
                     f"{fixed['p99_ms']:>13.1f} {at_half:>15} {peak:>14} "
                     f"{floor_rps:>11.1f} {floor_fixed:>16} "
                     f"{ratio:>6.2f}")
        p99_met = _p99_met(fixed)
        verdicts.append(
            f"{r['database']}: throughput ratio {ratio:.2f} (the median of "
            f"{', '.join(f'{turn:.2f}' for turn in r['ratios'])}; floor "
            f"{min(r['floor_max']['rps_each']):g} to {max(r['floor_max']['rps_each']):g} "
            "req/s) "
            f"{'meets' if ratio >= TARGET_RATIO else 'MISSES'} the target >= {TARGET_RATIO}"
            f"{_repeats(r['rma_max'])}; "
            f"p99 at {rate} req/s {fixed['p99_ms']:.1f} ms "
            f"{'meets' if p99_met else 'MISSES'} the target <= {TARGET_P99_MS:g} ms "
            f"({fixed['answered']} of {fixed['sent']} answered, {fixed['answered_per_s']:g}/s;"
            f" {fixed['statuses']}){_machine_limit(r, p99_met, flush)}")
    return "\n".join([*lines, "", *verdicts])


def _repeats(rma_max: dict) -> str:
    """A warning when the maximum run outlasted its distinct bodies (cheaper denials)."""
    if not rma_max.get("repeated"):
        return ""
    return (f" (but {rma_max['repeated']} of its {rma_max['requests']} requests repeated a "
            "body, whose cheaper denial flatters it)")


def _p99_met(fixed: dict) -> bool:
    """Every request of a fixed-rate run answered, and its p99 within the target."""
    return fixed["p99_ms"] <= TARGET_P99_MS and fixed["answered"] == fixed["sent"]


def _machine_limit(result: dict, p99_met: bool, flush: dict | None) -> str:
    """When the floor misses the p99 target too, the machine sets it: say so, with the
    disk's flushes for PostgreSQL, whose every commit waits for one, when the probe ran on
    its disk."""
    floors = (result["floor_fixed"], result["floor_fixed_after"])
    if p99_met or all(_p99_met(floor) for floor in floors):
        return ""
    missed = ", ".join(f"{floor['p99_ms']:.1f} ms" + (
        "" if floor["answered"] == floor["sent"] else
        f", {floor['answered']} of {floor['sent']} answered")
        for floor in floors if not _p99_met(floor))
    said = f"; the floor misses it too ({missed})"
    if result["database"] == "PostgreSQL" and flush and flush["same_disk_as_postgresql"]:
        said += (f", and each commit waits for a disk flush: p99.9 {flush['p999_ms']:g} ms, "
                 f"slowest {flush['max_ms']:g} ms of {flush['flushes']} in the probe")
    return said
