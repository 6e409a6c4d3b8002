"""einsum for CPU/GPU: mint.einsum is Ascend-only in MindSpore 2.10 ("einsum only supports Ascend")
and ops.einsum has no CPU kernel. Every contraction is transpose + reshape + batched matmul, with
torch's equation rules: explicit ("bhqd,bhkd->bhqk") or implicit output (labels seen once, sorted),
"..." (ellipsis dims right-aligned and broadcast), labels summed out when they appear in one
operand only and not in the output, size-1 dims broadcast, any number of operands (contracted left
to right, keeping the labels that are still needed), operands as varargs or one list.

Not supported (NotImplementedError naming the equation): a label repeated within one operand
(diagonals such as "ii->i" or "iij->j"). Graph-mode safe: the equation is planned in Python from
constant shapes. Matches torch to float rounding, gradients included
(tests/patches/test_ms_fallback_gaps.py).
"""

from __future__ import annotations

from mindspore import ops
from mindspore.ops import constexpr

_transpose = ops.transpose
_reshape = ops.reshape
_matmul = ops.matmul
_sum = ops.sum
_broadcast_to = ops.broadcast_to
_ELL = "0123456789"  # stand-in labels for ellipsis dims (torch labels are letters only)


def _parse(equation, ndims):
    """-> (list of label strings per operand, output label string); ellipsis expanded."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum {equation!r}: {len(terms)} operand terms but {len(ndims)} operands")
    n_ell = 0
    expanded = []
    for term, nd in zip(terms, ndims):
        if "..." in term:
            k = nd - (len(term) - 3)
            if k < 0 or k > len(_ELL):
                raise ValueError(f"einsum {equation!r}: operand of rank {nd} does not fit {term!r}")
            n_ell = max(n_ell, k)
            term = term.replace("...", _ELL[len(_ELL) - k:])  # right-aligned
        elif len(term) != nd:
            raise ValueError(f"einsum {equation!r}: term {term!r} has {len(term)} labels, operand has rank {nd}")
        if len(set(term)) != len(term):
            raise NotImplementedError(f"einsum {equation!r}: repeated label in {term!r} (a diagonal) is not "
                                      "supported by the CPU fallback")
        expanded.append(term)
    ell = _ELL[len(_ELL) - n_ell:]
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for t in expanded:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in _ELL))
    seen = "".join(expanded)
    for c in out:
        if c not in seen:
            raise ValueError(f"einsum {equation!r}: output label {c!r} is not in any operand")
    return expanded, out


def _kept(labels, keep):
    """(axes to sum, remaining labels) for summing out the labels not in keep"""
    return tuple(k for k, c in enumerate(labels) if c not in keep), "".join(c for c in labels if c in keep)


def _perm(labels, order):
    return None if labels == order else tuple(labels.index(c) for c in order)


def _pair_plan(la, sa, lb, sb, out):
    """the ops that contract (la, shape sa) with (lb, shape sb) into labels `out`, as constants"""
    sum_a, la = _kept(la, out + lb)
    sum_b, lb = _kept(lb, out + la)
    sa = tuple(n for k, n in enumerate(sa) if k not in sum_a)
    sb = tuple(n for k, n in enumerate(sb) if k not in sum_b)
    sizes = {}
    for lab, shape in ((la, sa), (lb, sb)):
        for c, n in zip(lab, shape):
            sizes[c] = max(sizes.get(c, 1), n)
    batch = "".join(c for c in out if c in la and c in lb)
    left = "".join(c for c in out if c in la and c not in lb)
    right = "".join(c for c in out if c in lb and c not in la)
    inner = "".join(c for c in la if c in lb and c not in out)

    def prod(labels):
        n = 1
        for c in labels:
            n *= sizes[c]
        return n

    full_a = tuple(sizes[c] for c in batch + left + inner)
    full_b = tuple(sizes[c] for c in batch + inner + right)
    pa, pb = _perm(la, batch + left + inner), _perm(lb, batch + inner + right)
    # size-1 dims broadcast (ellipsis batch dims) when the permuted shape differs from the full one
    bshape_a = None if tuple(sa[la.index(c)] for c in batch + left + inner) == full_a else full_a
    bshape_b = None if tuple(sb[lb.index(c)] for c in batch + inner + right) == full_b else full_b
    return (sum_a, sum_b, pa, pb, bshape_a, bshape_b, (prod(batch), prod(left), prod(inner)),
            (prod(batch), prod(inner), prod(right)), prod(inner) == 1,
            tuple(sizes[c] for c in batch + left + right), _perm(batch + left + right, out),
            tuple(sizes[c] for c in out))


@constexpr
def _plan(equation, shapes):
    """equation + operand shapes -> (pairwise steps, final sum axes, final permutation)"""
    terms, out = _parse(equation, tuple(len(s) for s in shapes))
    lx, sx = terms[0], tuple(shapes[0])
    steps = []
    for k in range(1, len(terms)):
        later = out + "".join(terms[k + 1:])
        keep = ""
        for c in lx + terms[k]:
            if c in later and c not in keep:
                keep += c
        step = _pair_plan(lx, sx, terms[k], tuple(shapes[k]), keep)
        steps.append(step)
        lx, sx = keep, step[-1]
    sum_axes, lx = _kept(lx, out)
    return tuple(steps), sum_axes, _perm(lx, out)


def _apply_perm(x, perm):
    return x if perm is None else _transpose(x, perm)


def _apply_sum(x, axes):
    return _sum(x, axes) if axes else x


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    steps, sum_axes, perm = _plan(equation, tuple(tuple(op.shape) for op in operands))
    x = operands[0]
    for k in range(len(steps)):
        sum_a, sum_b, pa, pb, bshape_a, bshape_b, shape_a, shape_b, outer, yshape, py, _ = steps[k]
        a = _apply_perm(_apply_sum(x, sum_a), pa)
        b = _apply_perm(_apply_sum(operands[k + 1], sum_b), pb)
        if bshape_a is not None:
            a = _broadcast_to(a, bshape_a)
        if bshape_b is not None:
            b = _broadcast_to(b, bshape_b)
        a, b = _reshape(a, shape_a), _reshape(b, shape_b)
        # an outer product (inner size 1) multiplies: MatMulExt's backward fails for it (measured)
        y = a * b if outer else _matmul(a, b)  # (batch, left, right)
        x = _apply_perm(_reshape(y, yshape), py)
    return _apply_perm(_apply_sum(x, sum_axes), perm)
