"""``ser-models``: list the model zoo, or build one model and print its parameter counts.

    ser-models                                 # name, paper, inputs (name:rank=default), ...
    ser-models mmfa                            # at the paper's dims: total, trainable counts
    ser-models mlp --dim audio=47 --classes 7  # at other dims or another class count
    ser-models mmfa-audio --json               # the same as one JSON object

A model is built for its paper's input dims and class count (``models.paper_spec``), each
``--dim`` / ``--classes`` replacing one of them. Errors (an unknown name, a bad dim) are one
line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys


def _dim(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    try:
        dim = int(value)
    except ValueError:
        dim = 0
    if not sep or not name.strip() or dim < 1:
        raise argparse.ArgumentTypeError(f"expected INPUT=DIM with DIM a positive integer, "
                                         f"got {text!r}")
    return name.strip(), dim


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ser-models", description=__doc__.splitlines()[0])
    p.add_argument("name", nargs="?", help="a registered model (none: list the zoo)")
    p.add_argument("--dim", type=_dim, action="append", default=[], metavar="INPUT=DIM",
                   help="build with this input dim instead of the paper's (repeatable)")
    p.add_argument("--classes", type=int, metavar="K",
                   help="build with K classes instead of the paper's")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def zoo_lines(registry) -> list[str]:
    """One line per registered model: name, paper, inputs as name:rank=default, description."""
    rows = [("name", "paper", "inputs", "description")]
    for name in registry.available():
        entry = registry.get_entry(name)
        rows.append((name, entry.paper or "-", " ".join(str(d) for d in entry.inputs),
                     entry.description))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [" ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " " + row[3]
            for row in rows]


def model_summary(registry, name: str, dims: dict[str, int], classes: int | None) -> dict:
    """Build ``name`` at the paper's spec with ``dims`` / ``classes`` replaced; its counts."""
    from ser_keras.errors import ConfigError

    entry = registry.get_entry(name)
    spec = registry.paper_spec(name)
    for input_name, dim in dims.items():
        decl = entry.decl(input_name)
        if decl.rank == "tokens":
            raise ConfigError(f"--dim {input_name}: a tokens input has no dim")
        spec["inputs"][input_name]["dim"] = dim
    if classes is not None:
        spec["num_classes"] = classes
    model = registry.build_model(name, spec)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    summary = {"name": name, "paper": entry.paper, "inputs": spec["inputs"],
               "num_classes": spec["num_classes"], "total_params": int(model.count_params()),
               "trainable_params": int(trainable), "non_trainable_params": int(non_trainable)}
    if entry.paper_params and not dims and classes is None:  # at the paper's own dims only
        paper = dict(entry.paper_params)
        paper["difference_percent"] = {
            key: round(100 * (summary[f"{key}_params"] / paper[key] - 1), 3)
            for key in ("total", "trainable") if key in paper}
        summary["paper_params"] = paper
    return summary


def summary_lines(summary: dict, registry) -> list[str]:
    entry = registry.get_entry(summary["name"])
    lines = [f"{summary['name']} ({summary['paper'] or '-'}): {entry.description}"]
    for input_name, info in summary["inputs"].items():
        dim = f"dim {info['dim']}" if "dim" in info else "token ids"
        lines.append(f"  input {input_name}: {info['rank']}, {dim} "
                     f"(default {entry.decl(input_name).default})")
    lines += [f"  classes: {summary['num_classes']}",
              f"total params:         {summary['total_params']:,}",
              f"trainable params:     {summary['trainable_params']:,}",
              f"non-trainable params: {summary['non_trainable_params']:,}"]
    paper = summary.get("paper_params")
    if paper:
        diff = paper["difference_percent"]
        lines.append(f"paper ({paper['source']}): total {paper['total']:,} "
                     f"({diff['total']:+.2f} %), trainable {paper['trainable']:,} "
                     f"({diff['trainable']:+.2f} %)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.name is None and (args.dim or args.classes is not None or args.json):
        parser.error("--dim, --classes and --json need a model name")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ser_keras import models
    from ser_keras.errors import SerKerasError

    if args.name is None:
        print("\n".join(zoo_lines(models.REGISTRY)))
        return 0
    try:
        summary = model_summary(models.REGISTRY, args.name, dict(args.dim), args.classes)
    except SerKerasError as err:
        print(f"ser-models: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary) if args.json else "\n".join(summary_lines(summary,
                                                                        models.REGISTRY)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
