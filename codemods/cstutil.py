"""Small libcst helpers shared by the rules: reading and rebuilding call arguments."""

from __future__ import annotations

import libcst as cst

DTYPE_NAMES = frozenset(
    "float32 float float16 half bfloat16 float64 double int8 uint8 int16 short int32 int int64 long "
    "bool bool_ complex64 complex128".split()
)


def positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star == "**"]


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a
    return None


def arg_value(call: cst.Call, index: int, name: str) -> cst.BaseExpression | None:
    """The value passed as positional `index` or as keyword `name`, if any."""
    kw = keyword(call, name)
    if kw is not None:
        return kw.value
    pos = positional(call)
    return pos[index].value if index < len(pos) and not pos[index].star else None


def clean(args: list[cst.Arg]) -> list[cst.Arg]:
    """Re-punctuate an argument list after arguments were added or removed."""
    out = []
    for i, a in enumerate(args):
        last = i == len(args) - 1
        if last:
            out.append(a.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        elif a.comma is cst.MaybeSentinel.DEFAULT:
            out.append(a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
        else:
            out.append(a)
    return out


def drop_keywords(call: cst.Call, names) -> cst.Call:
    args = [a for a in call.args if a.keyword is None or a.keyword.value not in names]
    return call if len(args) == len(call.args) else call.with_changes(args=clean(args))


def rename_keywords(call: cst.Call, renames: dict) -> cst.Call:
    if not renames:
        return call
    args = [
        a.with_changes(keyword=cst.Name(renames[a.keyword.value]))
        if a.keyword is not None and a.keyword.value in renames
        else a
        for a in call.args
    ]
    return call.with_changes(args=args)


def sizes_to_tuple(args: list[cst.Arg], start: int = 0) -> list[cst.Arg]:
    """f(a, 2, 3, k=1) with start=1 -> f(a, (2, 3), k=1); one non-starred size is left alone."""
    head, rest = args[:start], args[start:]
    sizes = [a for a in rest if a.keyword is None and a.star != "**"]
    others = [a for a in rest if not (a.keyword is None and a.star != "**")]
    if not sizes or (len(sizes) == 1 and not sizes[0].star):
        return args
    elements = []
    for i, a in enumerate(sizes):
        comma = cst.MaybeSentinel.DEFAULT if i < len(sizes) - 1 or len(sizes) > 1 else cst.Comma()
        if a.star == "*":
            elements.append(cst.StarredElement(a.value, comma=comma))
        else:
            elements.append(cst.Element(a.value, comma=comma))
    if len(elements) == 1:
        elements[0] = elements[0].with_changes(comma=cst.Comma())
    return clean(head + [cst.Arg(cst.Tuple(elements))] + others)


def is_string(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString))


def looks_like_dtype(node: cst.BaseExpression) -> bool:
    """`mindspore.float32`, `x.dtype`, `dtype`, `self.dtype`: a dtype, not a device."""
    while isinstance(node, cst.Attribute):
        if node.attr.value in DTYPE_NAMES or "dtype" in node.attr.value:
            return True
        node = node.value
    return isinstance(node, cst.Name) and "dtype" in node.value


def with_receiver_first(call: cst.Call, func: cst.BaseExpression) -> cst.Call:
    """x.m(a, b) -> func(x, a, b)."""
    receiver = call.func.value
    return cst.Call(func=func, args=clean([cst.Arg(receiver)] + list(call.args)))
