"""Cross-backend parity: the same recipe (or model pair) on torch and MindSpore, compared with numbers.

  run.py      `python -m core.parity RECIPE`: both backends from the same weights and batches
  models.py   a torch module and its converted Cell, outside any recipe
  probes.py   recording every module's output and lining the two records up
  metrics.py  max-abs / relative-L2 errors, tolerances per precision, the shared checks
  report.py   report.json, report.md and loss.png

    python -m core.parity examples/llama/tiny.yaml --steps 20 --layers
"""

from core.errors import ParityError


def run_parity(recipe_path, **kwargs) -> dict:
    from core.parity.run import run_parity as _run

    return _run(recipe_path, **kwargs)


def main(argv=None) -> int:
    from core.parity.run import main as _main

    return _main(argv)


__all__ = ["ParityError", "main", "run_parity"]
