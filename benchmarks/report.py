"""Markdown tables and plots from the committed benchmark results (no model, no store).

Reads ``benchmarks/results/{retrieval,latency,answers,prefeval}.json`` (whichever exist) and
writes next to them:

- ``retrieval.md`` and ``retrieval.png`` (evidence recall versus budget, per method);
- ``latency.md`` and ``latency.png`` (recall latency versus history size, tree versus flat);
- ``answers.md`` (reader token F1 per context);
- ``prefeval.png`` (accuracy versus distractor turns, per system and form).

    pip install -e ".[bench]"    # matplotlib, for the plots
    python -m benchmarks.report
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.lib.paths import RESULTS

DATASETS = ("locomo", "realtalk")


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _command(run: dict[str, Any] | None) -> str:
    return f"`{run['command']}`" if run and run.get("command") else "(not recorded)"


def retrieval_markdown(data: dict[str, Any]) -> str:
    lines = ["# Evidence recall (share of evidence messages present verbatim in the context)", ""]
    for dataset in [d for d in data if not d.startswith("_")]:
        table = data[dataset]
        budgets = sorted(next(iter(table.values())), key=int)
        n = next(iter(table.values()))[budgets[0]]["n"]
        lines += [f"## {dataset} ({n} questions)", "",
                  "| method | " + " | ".join(f"B={b}" for b in budgets) + " |",
                  "|---|" + "---:|" * len(budgets)]
        for method, cells in table.items():
            lines.append(f"| {method} | " + " | ".join(
                f"{cells[b]['evidence_recall']:.3f}" for b in budgets) + " |")
        if "answer_coverage" in next(iter(table.values()))[budgets[0]]:
            lines += ["", "Answer coverage (share of the gold answer's content words in the "
                      "context):", "", "| method | " + " | ".join(f"B={b}" for b in budgets)
                      + " |", "|---|" + "---:|" * len(budgets)]
            lines += [f"| {method} | " + " | ".join(
                f"{cells[b]['answer_coverage']:.3f}" for b in budgets) + " |"
                for method, cells in table.items()]
        if "tree" in table:
            lines.append("| tree: a returned summary covers an evidence turn | " + " | ".join(
                f"{table['tree'][b].get('node_covers_evidence', 0):.3f}" for b in budgets) + " |")
        lines += _per_category(table, "1000" if "1000" in budgets else budgets[-1])
        run = data.get("_runs", {}).get(dataset)
        lines += ["", f"Command: {_command(run)}", ""]
    return "\n".join(lines)


def _per_category(table: dict[str, Any], budget: str) -> list[str]:
    """Evidence recall / answer coverage per question category at one budget."""
    cells = {method: by_budget[budget] for method, by_budget in table.items()}
    cats = sorted({c for cell in cells.values() for c in cell.get("per_category", {})}, key=int)
    if not cats:
        return []
    lines = ["", f"Per category at B={budget} (evidence recall / answer coverage):", "",
             "| method | " + " | ".join(f"cat {c}" for c in cats) + " |",
             "|---|" + "---:|" * len(cats)]
    for method, cell in cells.items():
        recall, coverage = cell["per_category"], cell.get("coverage_per_category", {})
        lines.append(f"| {method} | " + " | ".join(
            f"{recall.get(c, float('nan')):.3f} / {coverage.get(c, float('nan')):.3f}"
            for c in cats) + " |")
    return lines


def latency_markdown(data: dict[str, Any]) -> str:
    lines = ["# Recall latency versus history size (no language model; query embedding included)",
             "", "| sessions | turns | tree p50 ms | tree p95 ms | flat p50 ms | flat p95 ms |",
             "|---:|---:|---:|---:|---:|---:|"]
    for size, row in sorted(data["by_sessions"].items(), key=lambda kv: int(kv[0])):
        tree, flat = row["tree_recall_ms"], row["flat_dense_ms"]
        lines.append(f"| {size} | {row['turns']} | {tree['p50']} | {tree['p95']} | "
                     f"{flat['p50']} | {flat['p95']} |")
    lines += ["", f"Targets: {data.get('targets')}", "", f"Command: {_command(data)}", ""]
    return "\n".join(lines)


def answers_markdown(data: dict[str, Any]) -> str:
    lines = ["# Answer token F1 of the default local model per context", ""]
    for dataset in [d for d in data if not d.startswith("_")]:
        run = data.get("_runs", {}).get(dataset, {})
        table = data[dataset]
        cats = sorted({c for cell in table.values() for c in cell["per_category"]}, key=int)
        lines += [f"## {dataset} ({run.get('questions')} seeded questions, seed "
                  f"{run.get('seed')}, memory budget {run.get('budget')} tokens, flat = "
                  f"{run.get('flat_method')}, reader context {run.get('n_ctx')})", "",
                  "| context | F1 | " + " | ".join(f"cat {c}" for c in cats)
                  + " | prompt tokens | reader seconds |",
                  "|---|---:|" + "---:|" * len(cats) + "---:|---:|"]
        for system, cell in table.items():
            per = " | ".join(f"{cell['per_category'].get(c, float('nan')):.3f}" for c in cats)
            lines.append(f"| {system} | {cell['f1']:.3f} | {per} | {cell['prompt_tokens']:.0f}"
                         f" | {cell['reader_seconds']:.0f} |")
        lines += ["", f"Command: {_command(run)}", ""]
    return "\n".join(lines)


def _save(fig: Any, axes: Any, path: Path) -> Path:
    """Grid and legend on every panel, then write the figure."""
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plots(results: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    retrieval = _load(results / "retrieval.json")
    if retrieval:
        datasets = [d for d in retrieval if not d.startswith("_")]
        fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
        for ax, dataset in zip(axes[0], datasets, strict=True):
            for method, cells in retrieval[dataset].items():
                budgets = sorted(cells, key=int)
                ax.plot([int(b) for b in budgets],
                        [cells[b]["evidence_recall"] for b in budgets], marker="o", label=method)
            ax.set(title=dataset, xlabel="context budget (tokens)", ylabel="evidence recall",
                   ylim=(0, 1))
        written.append(_save(fig, axes[0], results / "retrieval.png"))
    latency = _load(results / "latency.json")
    if latency:
        sizes = sorted(latency["by_sessions"], key=int)
        fig, ax = plt.subplots(figsize=(5, 4))
        for key, label in (("tree_recall_ms", "tree recall"), ("flat_dense_ms", "flat dense")):
            for q, style in (("p50", "-o"), ("p95", "--x")):
                ax.plot([int(s) for s in sizes],
                        [latency["by_sessions"][s][key][q] for s in sizes], style,
                        label=f"{label} {q}")
        ax.set(xscale="log", xlabel="sessions in history", ylabel="ms",
               title="recall latency vs history size")
        written.append(_save(fig, [ax], results / "latency.png"))
    prefeval = _load(results / "prefeval.json")
    if prefeval:
        systems = [s for s in prefeval if not s.startswith("_")]
        forms = sorted({f for s in systems for f in prefeval[s]})
        fig, axes = plt.subplots(1, len(forms), figsize=(4.5 * len(forms), 4), squeeze=False)
        color = {s: f"C{i}" for i, s in enumerate(systems)}  # one colour per system everywhere
        ceiling = prefeval.get("ceiling", {}).get("explicit", {}).get("0")
        for ax, form in zip(axes[0], forms, strict=True):
            if ceiling is not None:  # the goals of every form are relative to it
                ax.axhline(ceiling["accuracy"], color=color["ceiling"], linestyle=":",
                           label="ceiling (explicit, N = 0)")
            for system in systems:
                cells = prefeval[system].get(form)
                if not cells or system == "ceiling":
                    continue
                ns = sorted(cells, key=int)
                ax.plot([int(n) for n in ns], [cells[n]["accuracy"] for n in ns], "o-",
                        color=color[system], label=system)
            top = max(int(n) for s in systems for n in prefeval[s].get(form, {}) or ["0"])
            ax.set(title=form, xlabel="distractor turns (symlog)", ylabel="accuracy",
                   ylim=(0, 1), xscale="symlog", xlim=(0, max(top, 1) * 1.5))
        written.append(_save(fig, axes[0], results / "prefeval.png"))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args()
    for name, render in (("retrieval", retrieval_markdown), ("latency", latency_markdown),
                         ("answers", answers_markdown)):
        data = _load(args.results / f"{name}.json")
        if data:
            (args.results / f"{name}.md").write_text(render(data))
            print(f"wrote {args.results / f'{name}.md'}")
    if not args.no_plots:
        for path in plots(args.results):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
