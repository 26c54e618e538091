"""The table printed after a run, and the plot of throughput per pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot", "table"]


def _num(value: Any, fmt: str = ",.0f") -> str:
    return "-" if value is None else format(value, fmt)


def table(result: dict[str, Any]) -> str:
    """Markdown tables: throughput per workload, latency, soak, peers, targets."""
    m = result["machine"]
    out = [
        f"btclib bench ({result['mode']}), {result['date']}: {m['cpu']}, {m['cores']} cores, "
        f"Python {m['python']}, websockets {m['websockets']}; load average "
        f"{m['loadavg_start'][0]:.2f} at start, {m.get('loadavg_end', [0])[0]:.2f} at end; "
        f"{result.get('elapsed_s', 0):.0f} s.",
        "",
        "| workload | ceiling frames/s | recorder frames/s | ratio | drain ceiling frames/s "
        "| ratio to drain | recorder CPU us/frame "
        "| ceiling CPU us/frame | peak RSS MB | lines dropped | json frames/s | orjson frames/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, w in result["workloads"].items():
        out.append(
            f"| {name} | {_num(w['ceiling_fps'])} | {_num(w['recorder_fps'])} "
            f"| {_num(w['ratio'], '.2f')} | {_num(w.get('drain_ceiling_fps'))} "
            f"| {_num(w.get('ratio_to_drain'), '.2f')} | {_num(w['cpu_us_per_frame'], '.2f')} "
            f"| {_num(w['ceiling_cpu_us_per_frame'], '.2f')} | {_num(w['peak_rss_mb'], '.0f')} "
            f"| {_num(w.get('dropped'))} "
            f"| {_num(w.get('json_fps'))} | {_num(w.get('orjson_fps'))} |"
        )
    if any("cpp_fps" in w or "cpp_skipped" in w for w in result["workloads"].values()):
        out += [
            "",
            "| workload | btcrec (C++) frames/s | flood server ceiling frames/s "
            "| ratio to websockets ceiling "
            "| ratio to btclib recorder | btcrec CPU us/frame | btcrec peak RSS MB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, w in result["workloads"].items():
            if "cpp_skipped" in w:
                out.append(f"| {name} | {w['cpp_skipped']} | - | - | - | - | - |")
                continue
            fps = w.get("cpp_fps")
            vs_ceiling = fps / w["ceiling_fps"] if fps and w.get("ceiling_fps") else None
            vs_recorder = fps / w["recorder_fps"] if fps and w.get("recorder_fps") else None
            out.append(
                f"| {name} | {_num(fps)} | {_num(w.get('server_ceiling_fps'))} "
                f"| {_num(vs_ceiling, '.2f')} | {_num(vs_recorder, '.2f')} "
                f"| {_num(w.get('cpp_cpu_us_per_frame'), '.2f')} "
                f"| {_num(w.get('cpp_peak_rss_mb'), '.0f')} |"
            )
    out += [
        "",
        "| paced rate | frames | p50 ms | p99 ms | max ms | CPU us/frame "
        "| recv() alone: p50 ms | p99 ms | CPU us/frame |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rate, lat in result["latency_ms"].items():
        floor = lat.get("recv_floor") or {}
        out.append(
            f"| {int(rate):,} fps | {_num(lat.get('frames'))} | {_num(lat.get('p50'), '.3f')} "
            f"| {_num(lat.get('p99'), '.3f')} | {_num(lat.get('max'), '.3f')} "
            f"| {_num(lat.get('cpu_us_per_frame'), '.1f')} | {_num(floor.get('p50'), '.3f')} "
            f"| {_num(floor.get('p99'), '.3f')} | {_num(floor.get('cpu_us_per_frame'), '.1f')} |"
        )
    soak = result.get("soak", {})
    segments = soak.get("cpu_us_per_frame_by_lines") or {}
    out += [
        "",
        f"Soak ({soak.get('workload')}): {_num(soak.get('frames'))} frames at "
        f"{_num(soak.get('fps'))} frames/s; RSS {_num(soak.get('rss_start_mb'), '.1f')} MB "
        f"after {_num(soak.get('rss_start_lines'))} lines, {_num(soak.get('rss_end_mb'), '.1f')} "
        f"MB at the end (growth {_num(soak.get('rss_growth_mb'), '+.1f')} MB); CPU us/frame by "
        "lines: " + ", ".join(f"{k}: {v:.2f}" for k, v in segments.items()) + ".",
    ]
    peers = result.get("peers") or {}
    if peers:
        out.append("")
        for name, res in peers.items():
            if "fps" in res:
                out.append(f"Peer: {name}: {_num(res['fps'])} frames/s.")
            else:
                out.append(f"Peer: {name}: {res.get('skipped') or res.get('error')}.")
    goals = result.get("targets") or {}
    if goals:
        out.append("")
        out.append(
            "Targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items())
        )
    return "\n".join(out)


def plot(result: dict[str, Any], path: str | Path) -> Path:
    """Grouped bars: frames/s per pipeline, one group per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pipelines = [
        ("ceiling_fps", "websockets, receive only with recv() (ceiling)"),
        ("drain_ceiling_fps", "websockets, receive only, queue drained as btclib reads"),
        ("recorder_fps", "btclib recorder (byte-exact, to file)"),
        ("orjson_fps", "websockets + orjson + format + write"),
        ("json_fps", "websockets + json + format + write"),
    ]
    workloads = list(result["workloads"])
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=120)
    width = 0.8 / len(pipelines)
    for i, (key, label) in enumerate(pipelines):
        values = [result["workloads"][w].get(key) or 0 for w in workloads]
        xs = [j + (i - (len(pipelines) - 1) / 2) * width for j in range(len(workloads))]
        bars = ax.bar(xs, [v / 1000 for v in values], width, label=label)
        for bar, v in zip(bars, values, strict=True):
            if v:
                ax.annotate(
                    f"{v / 1000:.0f}k",
                    (bar.get_x() + bar.get_width() / 2, v / 1000),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    peers = result.get("peers") or {}
    ccxt = next((r for k, r in peers.items() if k.startswith("ccxt") and "fps" in r), None)
    mine = next((r for k, r in peers.items() if k.startswith("btclib") and "fps" in r), None)
    title = "Throughput per pipeline on loopback (median of runs)"
    if ccxt and mine:
        title += (
            f"\ntrades only: btclib {mine['fps'] / 1000:.0f}k/s, "
            f"ccxt.pro watch_trades {ccxt['fps'] / 1000:.0f}k/s"
        )
    ax.set_title(title, fontsize=10)
    labels = []
    for w in workloads:
        ratio = result["workloads"][w].get("ratio")
        labels.append(f"{w}\nrecorder/ceiling {ratio:.2f}" if ratio else w)
    ax.set_xticks(range(len(workloads)), labels)
    ax.set_ylabel("thousand frames per second")
    ax.legend(fontsize=7, loc="upper right")
    m = result["machine"]
    fig.text(
        0.01,
        0.01,
        f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, "
        f"websockets {m['websockets']}, {result['date']}",
        fontsize=6,
        color="gray",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
