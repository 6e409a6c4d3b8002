"""torch layer constructor keywords that mean nothing in MindSpore, accepted and ignored by mint.nn layers.

The converter drops `device=` and `inplace=` from a call it can see (`nn.Linear(4, 8, device=d)`),
but not when the class travels as a value (timm: `linear_layer = nn.Linear` ...
`linear_layer(a, b, **dd)` with `dd = {"device": d, "dtype": t}`, `act_layer(inplace=True)`).
mint.nn layers then fail with "unexpected keyword argument 'device'". This patch wraps the
`__init__` of every mint.nn layer class so that those keywords are dropped when the MindSpore
signature lacks them:

| keyword   | torch meaning                      | here                                            |
|-----------|------------------------------------|-------------------------------------------------|
| `device`  | where the parameters are allocated | dropped: MindSpore places by the device target   |
| `inplace` | activation/dropout overwrite input | dropped: the result is the same tensor values    |

Every other keyword reaches MindSpore unchanged (an unknown one still fails there). Applied on
every device target, with the mindspore patch group. Tested in tests/patches/test_ms_layer_kwargs.py.
"""

from __future__ import annotations

import functools
import inspect

TORCH_ONLY = ("device", "inplace")
_T = "mindspore.mint.nn."


def layer_classes() -> list[str]:
    """Names of the mint.nn classes that are Cells (layers), excluding the Cell base itself."""
    from mindspore import mint, nn

    return sorted(n for n in dir(mint.nn) if isinstance(getattr(mint.nn, n), type)
                  and issubclass(getattr(mint.nn, n), nn.Cell) and getattr(mint.nn, n) is not nn.Cell)


def accepting_torch_keywords(init):
    """Wrap a layer's __init__: drop the TORCH_ONLY keywords its own signature does not take."""
    try:
        params = inspect.signature(init).parameters
    except (TypeError, ValueError):
        return init
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return init  # **kwargs: it takes anything already
    ignored = tuple(k for k in TORCH_ONLY if k not in params)
    if not ignored:
        return init

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        for k in ignored:
            kwargs.pop(k, None)
        init(self, *args, **kwargs)

    return __init__


def register(manager, group: str) -> None:
    """Register the wrapper for `mindspore.mint.nn.<Layer>.__init__` of every layer, in `group`."""
    for name in layer_classes():
        manager.register(f"{_T}{name}.__init__", wrapper=accepting_torch_keywords, name=f"mint.nn.{name}.__init__",
                         group=group, note="accepts torch's device=/inplace=; all device targets")
