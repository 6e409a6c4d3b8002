"""The `mindbridge` console script: one entry point for the project's commands.

    mindbridge train RECIPE [--backend mindspore] [--set k=v ...]   # = python -m core.launch
    mindbridge convert SRC -o OUT [...]                               # = python -m codemods.convert
    mindbridge data prepare INPUT OUT                                 # = python -m core.data
    mindbridge plot RUN_DIR                                           # = python -m core.plot
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "train": ("core.launch", "train a recipe"),
    "convert": ("codemods.convert", "convert torch source to MindSpore"),
    "data": ("core.data", "prepare or inspect token data"),
    "parity": ("core.parity", "compare the two backends on one recipe"),
    "checkpoint": ("core.checkpoint", "convert checkpoints between formats"),
    "patches": ("patches.__main__", "list or bisect runtime patches"),
    "plot": ("core.plot", "draw a run's loss, lr and tokens/s to PNG"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = [f"  {name:<11}{help_}" for name, (_, help_) in COMMANDS.items()]
        print("usage: mindbridge COMMAND [ARGS...]\n\ncommands:\n" + "\n".join(lines))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nerror: unknown command '{argv[0]}'", file=sys.stderr)
            return 2
        return 0
    module_name, _ = COMMANDS[argv[0]]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        print(f"error: 'mindbridge {argv[0]}' is not available in this install ({e})", file=sys.stderr)
        return 2
    if module_name == "core.launch":
        return module.main(argv[1:], prog="mindbridge train")
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
