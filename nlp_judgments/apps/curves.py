"""Training curves: loss and dev scores against update step, drawn from a run's ``train_log.jsonl``.

``plot_curves("runs/x")`` writes ``runs/x/curves.png``: training loss on top; dev micro-F1 below,
with precision and recall faint, per-label F1 as thin lines when the log carries it, the best F1
marked and epoch changes drawn faintly. ``train.py`` writes one log line per dev evaluation::

    {"step": 40, "epoch": 1, "loss": 0.8123, "dev_f1": 0.61, "dev_precision": 0.58, "dev_recall": 0.64, "seconds": 12.3}

Per-label F1 is read from an optional ``"dev_per_label": {"COURT": 0.9, ...}`` (values may also be
``{"f1": 0.9, ...}`` as in ``metrics.span_scores``' ``per_type``). A resumed run can log a step
twice: the last line for a step wins.

matplotlib (the ``plot`` extra) is imported only when plotting, and drawn with its Agg canvas
directly: no display, and no process-wide backend switch. Not here: training, scoring.
"""

from __future__ import annotations

from pathlib import Path

from nlp_judgments.spans import DataError, read_jsonl_objects

LOG_NAME = "train_log.jsonl"
MISSING_MATPLOTLIB = "plotting needs matplotlib: pip install 'nlp-judgments[plot]'"


def read_log(path: str | Path) -> list[dict]:
    """The evaluations of a training log, sorted by step (last line wins for a repeated step).

    Raises ``FileNotFoundError`` for a missing log and :class:`DataError` for an empty or malformed one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training log (train.py writes {LOG_NAME} at each dev evaluation; "
                                "a run without a dev set has none)")
    by_step: dict[int, dict] = {}
    for lineno, entry in read_jsonl_objects(path):
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), int):
            raise DataError("a log line must be an object with an integer 'step'", path, lineno)
        by_step[entry["step"]] = entry
    if not by_step:
        raise DataError("empty training log: no dev evaluation was logged yet", path)
    return [by_step[s] for s in sorted(by_step)]


def _series(entries: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(e["step"], float(e[key])) for e in entries if isinstance(e.get(key), (int, float))]
    return [s for s, _ in pts], [v for _, v in pts]


def _per_label(entries: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    out: dict[str, tuple[list[int], list[float]]] = {}
    for e in entries:
        per = e.get("dev_per_label")
        if not isinstance(per, dict):
            continue
        for label, v in per.items():
            v = v.get("f1") if isinstance(v, dict) else v
            if isinstance(v, (int, float)):
                steps, values = out.setdefault(str(label), ([], []))
                steps.append(e["step"])
                values.append(float(v))
    return out


def plot_curves(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Plot the training log of ``run_dir`` (or a ``train_log.jsonl`` path) to a PNG; return its path.

    ``output`` defaults to ``curves.png`` next to the log.
    """
    run_dir = Path(run_dir)
    log_path = run_dir if run_dir.is_file() else run_dir / LOG_NAME
    entries = read_log(log_path)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(MISSING_MATPLOTLIB) from None
    output = Path(output) if output is not None else log_path.parent / "curves.png"

    fig = Figure(figsize=(9, 6.4), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_f1 = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.35))
    name = log_path.parent.name or str(log_path.parent)
    fig.suptitle(f"{name}: {len(entries)} evaluations, last update {entries[-1]['step']}", fontsize=11)

    # A faint line where the logged epoch changes: where a new pass over the data begins.
    for prev, cur in zip(entries, entries[1:]):
        if isinstance(cur.get("epoch"), int) and cur.get("epoch") != prev.get("epoch"):
            for ax in (ax_loss, ax_f1):
                ax.axvline(cur["step"], color="0.8", lw=0.8, ls=":", zorder=0)

    steps, loss = _series(entries, "loss")
    ax_loss.plot(steps, loss, "o-", color="#c2410c", ms=3, lw=1.6)
    if loss and min(loss) > 0 and max(loss) / min(loss) > 30:  # a long fall reads better on a log scale
        ax_loss.set_yscale("log")
    ax_loss.set_ylabel("training loss\n(mean since last eval)")
    if not loss:
        ax_loss.text(0.5, 0.5, "no loss logged", transform=ax_loss.transAxes, ha="center", color="0.5")

    for label, (s, v) in sorted(_per_label(entries).items()):
        ax_f1.plot(s, v, lw=0.8, alpha=0.35, label=label)
    for key, style in (("dev_precision", ":"), ("dev_recall", "--")):
        s, v = _series(entries, key)
        if v:
            ax_f1.plot(s, v, style, color="#1e3a8a", lw=1, alpha=0.55, label=key.removeprefix("dev_"))
    steps, f1 = _series(entries, "dev_f1")
    if f1:
        ax_f1.plot(steps, f1, "o-", color="#1d4ed8", ms=3.5, lw=2, label="micro-F1")
        best = max(range(len(f1)), key=f1.__getitem__)
        ax_f1.plot(steps[best], f1[best], "*", color="#eab308", ms=14, mec="#854d0e", zorder=5)
        right = steps[best] > (steps[0] + steps[-1]) / 2  # keep the note inside the axes
        ax_f1.annotate(f"best {f1[best]:.3f} @ {steps[best]}", (steps[best], f1[best]),
                       xytext=(-8 if right else 8, -16),
                       textcoords="offset points", fontsize=9, color="#854d0e", ha="right" if right else "left",
                       bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85})
        ax_f1.legend(loc="lower right", fontsize=7, ncol=2 if len(ax_f1.lines) > 8 else 1, frameon=False)
    else:
        ax_f1.text(0.5, 0.5, "no dev F1 logged", transform=ax_f1.transAxes, ha="center", color="0.5")
    ax_f1.set_ylim(0, 1.02)
    ax_f1.set_ylabel("dev score (exact spans)")
    ax_f1.set_xlabel("update step")
    for ax in (ax_loss, ax_f1):
        ax.grid(alpha=0.3, lw=0.6)
        ax.spines[["top", "right"]].set_visible(False)

    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output)
    return output
