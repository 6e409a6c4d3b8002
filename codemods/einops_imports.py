"""einops imports in torch code (codemods/mappings/einops.yaml, code MB508).

einops works on any framework it has a backend for; `backends/mindspore/compat_einops.py` adds one
for MindSpore and MindSpore Cells for `einops.layers.torch` (Rearrange, Reduce, EinMix, with torch's
parameter names). The converter's part, called by Converter for every import statement:

    from einops.layers.torch import Rearrange   ->  from backends.mindspore.compat_einops import Rearrange
    from einops import rearrange, repeat        ->  kept, and the file imports backends.mindspore.compat_einops
                                                    (which registers einops' MindSpore backend)
    import einops.layers.torch / einops.array_api / an unknown layer name  ->  reported (MB003)
"""

from __future__ import annotations

import libcst as cst

from codemods.names import dotted


def convert_einops_import(conv, node) -> None:
    """einops (codemods/mappings/einops.yaml): `from einops.layers.torch import Rearrange` ->
    `from backends.mindspore.compat_einops import Rearrange` (MindSpore Cells); any other einops
    import stays as written and the file imports `backends.mindspore.compat_einops`, which
    registers einops' MindSpore backend. What has no MindSpore counterpart is reported (MB003)."""
    if isinstance(node, cst.ImportFrom):
        if node.relative or node.module is None:
            return
        modules = [dotted(node.module)]
    else:
        modules = [dotted(alias.name) for alias in node.names]
    calls, top = conv.tables.calls, node in conv.top_imports
    for module in modules:
        if not module or not (module == "einops" or module.startswith("einops.")):
            continue
        parts = module.split(".")
        entry = next((calls[p] for p in (".".join(parts[:i]) for i in range(len(parts), 1, -1)) if p in calls),
                     None)
        if entry is not None and entry.unsupported:  # einops.array_api, einops.experimental.indexing, ...
            if conv.selected("MB003"):
                conv.report("MB003", module, entry.unsupported, entry.suggest, node=node)
            continue
        if module != "einops.layers.torch":  # rearrange, reduce, ...: they need the MindSpore backend
            conv.names._claim("compat_einops", "backends.mindspore.compat_einops")
            continue
        if isinstance(node, cst.Import) or isinstance(node.names, cst.ImportStar):
            if conv.selected("MB003"):
                conv.report("MB003", module, "einops.layers.torch's layers are torch Modules; this import form "
                            "is not converted", "from einops.layers.torch import Rearrange, Reduce, EinMix "
                            "(-> backends.mindspore.compat_einops)", node=node)
            continue
        mapped = {a: calls.get(f"{module}.{a.name.value}") for a in node.names}
        missing = [a.name.value for a, e in mapped.items() if e is None or not e.to]
        if missing:
            if conv.selected("MB003"):
                conv.report("MB003", f"{module}.{missing[0]}", "no MindSpore counterpart in "
                            "backends.mindspore.compat_einops", "use Rearrange, Reduce or EinMix", node=node)
            continue
        if not all(conv.selected(e.code) for e in mapped.values()):
            continue
        if not top:  # a nested import: _leave_import rebinds the names in place (_nested_mapped)
            conv.nested_torch.add(node)
            continue
        conv.top_torch.add(node)  # leave_Module drops it and writes our imports there
        for alias, e in mapped.items():
            local = alias.asname.name.value if alias.asname else alias.name.value
            conv.names.bindings[local] = e.to
            conv.names.used.add(local)
