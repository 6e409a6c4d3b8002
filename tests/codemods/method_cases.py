"""Output cases for tests/codemods/test_method_outputs.py: one or more tiny torch expressions per Tensor
method in codemods/mappings/methods.yaml (`functions`, `varargs`, `kept`), PaConvert's way: run as
written on torch and, converted by codemods.convert_source, on MindSpore, compared as in
test_api_outputs.py (structure, shapes, dtypes, values).

The expressions use the argument forms real code uses (transformers' modeling files, timm, the
real-code corpus): positional dim, dim= keyword, varargs vs tuple sizes, keepdim, dtype arguments.
The inputs are api_cases.INPUTS plus `perm` (a permutation of 0..3 along the last axis: scatter
indices without duplicates, whose result torch leaves undefined).

UNTESTED lists the methods.yaml entries without a case; the coverage test keeps it exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from api_cases import INPUTS as API_INPUTS

INPUTS = {
    **API_INPUTS,
    "perm": np.argsort(np.random.default_rng(3).uniform(size=(2, 3, 4)), axis=-1).astype(np.int64),
}
ARGS = ", ".join(INPUTS)


@dataclass(frozen=True)
class Case:
    method: str  # the methods.yaml entry the case covers
    expr: str  # expression over INPUTS
    random: bool = False  # compare shape and dtype only
    tol: float = 1e-5


def R(method, expr):
    return Case(method, expr, random=True)


C = Case
CASES = [
    # ------------------------------------------------------------------ functions (pre-existing)
    C("transpose", "x.transpose(1, 2)"), C("transpose", "x.transpose(-1, 0)"),
    C("chunk", "x.chunk(2, dim=-1)"), C("chunk", "x.chunk(3, 1)"),
    C("split", "x.split(2, dim=-1)"), C("split", "x.split([1, 2], 1)"),
    C("clone", "x.clone()"),
    C("repeat_interleave", "x.repeat_interleave(2, dim=1)"),
    C("tril", "m.tril()"), C("tril", "x.tril(-1)"), C("triu", "m.triu(1)"), C("triu", "x.triu(diagonal=0)"),
    C("repeat", "x.repeat(1, 2, 1)"), C("repeat", "x.repeat((2, 1, 1))"), C("repeat", "v.repeat(2, 1)"),
    C("unbind", "x.unbind(1)"), C("unbind", "x.unbind(dim=-1)"),
    C("index_select", "x.index_select(1, j[:2])"),
    C("argsort", "x.argsort(dim=-1)"), C("argsort", "x.argsort(1, descending=True)"),
    C("cumsum", "x.cumsum(1)"), C("cumsum", "i.cumsum(dim=-1)"),
    C("logsumexp", "x.logsumexp(-1)"), C("logsumexp", "x.logsumexp(dim=1, keepdim=True)"),
    C("outer", "v.outer(v)"),
    C("softmax", "x.softmax(-1)"), C("softmax", "x.softmax(dim=1)"),
    C("log_softmax", "x.log_softmax(-1)"), C("log_softmax", "x.log_softmax(dim=1)"),
    C("amax", "x.amax(-1)"), C("amax", "x.amax(dim=(1, 2), keepdim=True)"),
    C("amin", "x.amin(1)"), C("amin", "x.amin(dim=-1)"),
    C("argmin", "x.argmin(-1)"), C("argmin", "x.argmin(dim=1, keepdim=True)"),
    C("count_nonzero", "b.count_nonzero(dim=-1)"), C("count_nonzero", "i.count_nonzero()"),
    C("diff", "x.diff(dim=-1)"), C("diff", "x.diff()"),
    C("norm", "x.norm()"), C("norm", "x.norm(p=2, dim=-1, keepdim=True)"), C("norm", "x.norm(dim=1)"),
    C("sort", "x.sort(-1)"), C("sort", "x.sort(dim=1, descending=True)"),
    C("topk", "x.topk(2)"), C("topk", "x.topk(2, dim=1, largest=False)"),
    C("max", "x.max()"), C("max", "x.max(-1)"), C("max", "x.max(dim=1, keepdim=True)"), C("max", "x.max(y)"),
    C("min", "x.min()"), C("min", "x.min(dim=-1)"), C("min", "x.min(y)"),
    # ------------------------------------------------------------------ varargs (pre-existing)
    C("expand", "x[:, :1].expand(2, 3, 4)"), C("expand", "x[:, :1].expand((2, -1, 4))"),
    C("new_zeros", "x.new_zeros(2, 3)"), C("new_zeros", "i.new_zeros((2,))"),
    C("new_ones", "x.new_ones(2, 3)"), C("new_ones", "x.new_ones((2, 3), dtype=torch.int64)"),
    C("new_empty", "x.new_empty(2, 3).shape"), C("new_empty", "x.new_empty((2, 3)).dtype"),
    # ------------------------------------------------------------------ kept (pre-existing)
    C("view", "x.view(6, 4)"), C("view", "x.view(-1)"), C("view", "x.view((3, 8))"),
    C("reshape", "x.reshape(6, -1)"), C("reshape", "x.reshape((4, 6))"),
    C("permute", "x.permute(2, 0, 1)"), C("permute", "x.permute((1, 0, 2))"),
    C("contiguous", "x.transpose(0, 1).contiguous()"),
    C("masked_fill", "x.masked_fill(b, -1.0)"), C("masked_fill", "x.masked_fill(b[:, :1], 0.0)"),
    C("to", "x.to(torch.float64)"), C("to", "i.to(x.dtype)"), C("to", "x.to(dtype=torch.int32)"),
    C("float", "i.float()"), C("half", "x.half()"), C("double", "x.double()"), C("long", "x.long()"),
    C("int", "x.int()"), C("bool", "i.bool()"),
    C("type_as", "i.type_as(x)"), C("type_as", "x.type_as(i)"),
    C("pow", "x.pow(3)"), C("pow", "p.pow(0.5)"), C("pow", "p.pow(y)"),
    C("mean", "x.mean()"), C("mean", "x.mean(-1)"), C("mean", "x.mean(dim=(1, 2), keepdim=True)"),
    C("sum", "x.sum()"), C("sum", "x.sum(-1)"), C("sum", "x.sum(dim=1, keepdim=True)"), C("sum", "i.sum(0)"),
    C("sum", "b.sum(-1)"),
    C("exp", "x.exp()"), C("log", "p.log()"), C("sqrt", "p.sqrt()"), C("rsqrt", "p.rsqrt()"),
    C("abs", "x.abs()"), C("neg", "x.neg()"), C("cos", "x.cos()"), C("sin", "x.sin()"), C("tanh", "x.tanh()"),
    C("sigmoid", "x.sigmoid()"),
    C("unsqueeze", "x.unsqueeze(1)"), C("unsqueeze", "x.unsqueeze(dim=-1)"),
    C("squeeze", "x[:, :1].squeeze()"), C("squeeze", "x[:, :1].squeeze(1)"), C("squeeze", "x[:1].squeeze(dim=0)"),
    C("flatten", "x.flatten()"), C("flatten", "x.flatten(1)"), C("flatten", "img.flatten(2)"),
    C("flatten", "img.flatten(start_dim=1, end_dim=2)"),
    C("expand_as", "x[:, :1].expand_as(x)"),
    C("item", "x[0, 0, 0].item()"), C("item", "i[0, 0, 0].item()"),
    C("tolist", "i.tolist()"), C("numpy", "x.numpy()"), C("numel", "x.numel()"), C("dim", "x.dim()"),
    C("ndim", "x.ndim"),
    C("argmax", "x.argmax()"), C("argmax", "x.argmax(-1)"), C("argmax", "x.argmax(dim=1, keepdim=True)"),
    C("clamp", "x.clamp(-0.5, 0.5)"), C("clamp", "x.clamp(min=0.0)"), C("clamp", "x.clamp(max=0.3)"),
    C("clamp", "i.clamp(1, 2)"),
    C("matmul", "x.matmul(y.transpose(1, 2))"), C("matmul", "m.matmul(m)"),
    C("add", "x.add(y)"), C("add", "x.add(1.5)"), C("add", "x.add(y, alpha=2)"),
    C("mul", "x.mul(y)"), C("mul", "x.mul(2)"), C("sub", "x.sub(y)"), C("sub", "x.sub(y, alpha=0.5)"),
    C("div", "x.div(p)"), C("div", "i.div(2)"), C("div", "x.div(p, rounding_mode='floor')"),
    C("all", "b.all()"), C("all", "b.all(-1)"), C("any", "b.any()"), C("any", "b.any(dim=1)"),
    C("t", "m.t()"),
    # ------------------------------------------------------------------ methods used by transformers / timm / corpus
    C("masked_scatter", "x.masked_scatter(b, y)"),
    C("masked_scatter", "x.masked_scatter(b[..., :1].expand_as(x), y.reshape(-1, 4))"),
    C("gather", "x.gather(2, i)"), C("gather", "x.gather(-1, i[..., :2])"), C("gather", "x.gather(dim=1, index=i[:, :2] % 3)"),
    C("type", "x.type(torch.float64)"), C("type", "i.type(torch.float32)"), C("type", "x.type(i.dtype)"),
    C("type", "x.type(dtype=torch.int32)"),
    C("prod", "x.prod()"), C("prod", "x.prod(-1)"), C("prod", "x.prod(dim=1, keepdim=True)"), C("prod", "i.prod(-1)"),
    C("prod", "i.int().prod(1)"), C("prod", "b.prod(-1)"), C("prod", "i.prod(dtype=torch.float32)"),
    C("nonzero", "b.nonzero()"), C("nonzero", "b.nonzero(as_tuple=True)"), C("nonzero", "(i > 1).nonzero()"),
    C("nonzero", "i[0].nonzero()"),
    C("flip", "x.flip(0)"), C("flip", "x.flip(-1)"), C("flip", "x.flip([1, 2])"), C("flip", "x.flip((1,))"),
    C("flip", "x.flip(dims=(1,))"), C("flip", "x.flip(1, 2)"),
    C("requires_grad_", "x.requires_grad_(False)"), C("requires_grad_", "x.requires_grad_()"),
    C("ne", "x.ne(y)"), C("ne", "i.ne(2)"), C("ne", "x.ne(0.5)"),
    C("unfold", "x.unfold(2, 2, 1)"), C("unfold", "x.unfold(dimension=1, size=2, step=1)"),
    C("unfold", "seq.unfold(-1, 3, 2)"), C("unfold", "img.unfold(2, 3, 3).unfold(3, 3, 3)"),
    C("tile", "x.tile(2)"), C("tile", "x.tile((1, 2))"), C("tile", "x.tile(1, 2, 1)"), C("tile", "x.tile([2, 1, 1, 1])"),
    C("clamp_min", "x.clamp_min(0.1)"), C("clamp_min", "i.clamp_min(2)"), C("clamp_min", "x.clamp_min(min=1e-3)"),
    C("clamp_max", "x.clamp_max(0.1)"), C("clamp_max", "i.clamp_max(2)"),
    C("new_full", "x.new_full((2, 3), 1.5)"), C("new_full", "i.new_full((2,), 7)"), C("new_full", "x.new_full((2,), 7)"),
    C("new_full", "x.new_full((2, 3), 2, dtype=torch.int64)"), C("new_full", "b.new_full((2,), True)"),
    C("new_full", "x.new_full(x.shape, float('-inf'))"),
    C("clip", "x.clip(-0.5, 0.5)"), C("clip", "x.clip(min=0)"), C("clip", "x.clip(max=1.0)"), C("clip", "i.clip(0, 2)"),
    C("square", "x.square()"), C("square", "i.square()"),
    C("floor", "x.floor()"), C("ceil", "x.ceil()"),
    C("unflatten", "x.unflatten(2, (2, 2))"), C("unflatten", "x.unflatten(-1, (2, -1))"),
    C("unflatten", "x.unflatten(dim=1, sizes=(3, 1))"), C("unflatten", "x.unflatten(0, [1, 2])"),
    C("scatter", "x.scatter(2, perm[..., :2], y)"), C("scatter", "x.scatter(2, perm[..., :2], 0.5)"),
    C("scatter", "x.scatter(dim=2, index=perm, src=y)"), C("scatter", "x.scatter(-1, perm, value=-1.0)"),
    C("scatter", "x.scatter(2, i, y, reduce='add')"), C("scatter", "b.scatter(2, perm[..., :1], True)"),
    C("eq", "x.eq(y)"), C("eq", "i.eq(2)"), C("eq", "x.eq(x)"),
    C("reshape_as", "x.reshape_as(img[:, :, :2, :2])"), C("view_as", "x.view_as(y)"),
    C("masked_select", "x.masked_select(b)"), C("masked_select", "x.masked_select(b[0])"),
    C("round", "x.round()"), C("round", "torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5]).round()"),
    C("round", "x.round(decimals=1)"),
    C("index_add", "x.index_add(1, j[:2], y[:, :2])"), C("index_add", "x.index_add(1, j[:2], y[:, :2], alpha=2)"),
    C("index_add", "x.index_add(0, j[:4] % 2, y[:1].expand(4, 3, 4))"),
    C("is_floating_point", "x.is_floating_point()"), C("is_floating_point", "i.is_floating_point()"),
    C("new_tensor", "x.new_tensor([1, 2])"), C("new_tensor", "i.new_tensor([1.5, 2.0])"),
    C("new_tensor", "x.new_tensor([1, 2], dtype=torch.int64)"), C("new_tensor", "x.new_tensor(v.numpy())"),
    C("unique", "j.unique()"), C("unique", "j.unique(sorted=True, return_counts=True)"),
    C("unique", "j.unique(return_inverse=True)"),
    C("conj", "x.conj()"),
    C("lerp", "x.lerp(y, 0.3)"), C("lerp", "x.lerp(y, u.abs())"),
    C("log10", "p.log10()"), C("log1p", "p.log1p()"), C("logical_not", "b.logical_not()"),
    C("logical_not", "i.logical_not()"),
    C("where", "x.where(b, y)"), C("where", "x.where(b, 0.0)"),
    C("is_contiguous", "x.is_contiguous()"), C("is_contiguous", "x.transpose(1, 2).is_contiguous()"),
    C("new", "x.new(2, 3).shape"), C("new", "i.new(4, 1).dtype"),
    C("byte", "b.byte()"), C("byte", "i.byte()"),
    C("element_size", "x.element_size()"), C("element_size", "i.element_size()"),
    C("addcdiv", "x.addcdiv(y, p, value=0.5)"), C("addcdiv", "x.addcdiv(y, p)"),
    C("addcmul", "x.addcmul(y, u, value=2)"), C("addcmul", "x.addcmul(y, u)"),
    C("lt", "x.lt(y)"), C("lt", "i.lt(2)"), C("ge", "x.ge(y)"), C("ge", "i.ge(2)"),
    C("gt", "x.gt(0)"), C("gt", "x.gt(y)"),
    C("stride", "x.transpose(1, 2).stride()"), C("type", "x.type()"), C("type", "i.type()"),
    C("scatter", "x.scatter(2, perm[..., :2], y, reduce='multiply')"),
    C("scatter_reduce", "x.scatter_reduce(2, i, y, reduce='amin', include_self=False)"),
    C("scatter_reduce", "x.scatter_reduce(dim=2, index=i, src=y, reduce='prod')"),
    C("scatter_reduce", "i.scatter_reduce(2, perm, i * 3, reduce='mean', include_self=False)"),
    C("scatter_reduce", "torch.zeros(5).scatter_reduce(dim=0, index=j, src=v.repeat(2)[:7], reduce='mean', "
                        "include_self=False)"),
    C("as_strided", "x.reshape(2, 12).as_strided((2, 3, 8), (12, 2, 1))"),
    C("index_put", "m.index_put((j[:4] % 3, j[1:5] % 3), v[:4], accumulate=True)"),
    C("index_put", "x.index_put(indices=(j[:3] % 2,), values=y[0, 0], accumulate=False)"),
    C("new", "x.new([1, 2])"), C("new", "x.new(i.shape).shape"),
    C("stride", "x.stride()"), C("stride", "x.stride(0)"), C("stride", "img.stride(-1)"),
    C("as_strided", "x.as_strided((2, 3), (12, 4))"), C("as_strided", "x.as_strided(size=(2, 2), stride=(1, 2), storage_offset=1)"),
    C("index_put", "x.index_put((j[2:4] - 2,), y.flip(0))"), C("index_put", "x.index_put((j[:2],), y[:2], accumulate=True)"),
    C("index_put", "m.index_put((j[:3] % 3, j[1:4] % 3), v[:3])"),
    C("roll", "x.roll(1, 2)"), C("roll", "x.roll(shifts=(1, -1), dims=(1, 2))"), C("roll", "x.roll(-1, dims=1)"),
    C("roll", "x.roll(2)"),
    C("scatter_reduce", "x.scatter_reduce(2, i, y, reduce='amax')"),
    C("scatter_reduce", "x.scatter_reduce(2, i, y, reduce='sum', include_self=False)"),
    C("ndimension", "x.ndimension()"), C("nelement", "x.nelement()"),
    C("atanh", "u.atanh()"), C("sign", "x.sign()"), C("sign", "i.sign()"), C("reciprocal", "p.reciprocal()"),
    C("remainder", "x.remainder(1.5)"), C("remainder", "i.remainder(3)"), C("remainder", "(i - 2).remainder(3)"),
    C("remainder", "x.remainder(p)"),
    C("isnan", "(x.log()).isnan()"),
    C("index_copy", "x.index_copy(1, j[2:4] - 2, y[:, :2])"), C("index_copy", "x.index_copy(0, j[2:4] - 2, y.flip(0))"),
    C("scatter_add", "x.scatter_add(2, i, y)"), C("scatter_add", "x.scatter_add(dim=1, index=i[:, :2] % 3, src=y)"),
    C("ravel", "x.ravel()"), C("ravel", "x.transpose(0, 2).ravel()"),
    C("broadcast_to", "x[:, :1].broadcast_to((2, 3, 4))"), C("broadcast_to", "v.broadcast_to((2, 5))"),
    C("is_complex", "x.is_complex()"),
    C("baddbmm", "m.expand(2, 3, 3).baddbmm(x, y.transpose(1, 2), beta=0.5, alpha=2)"),
    C("baddbmm", "x.baddbmm(x[:, :, :3], y[:, :3, :])"),
    C("cross", "x[..., :3].cross(y[..., :3], dim=-1)"),
    C("bfloat16", "x.bfloat16().float()", tol=1e-2),
    R("multinomial", "prob.multinomial(2)"), R("multinomial", "prob.multinomial(1, replacement=True)"),
    C("cumprod", "x.cumprod(1)"), C("cumprod", "i.cumprod(dim=-1)"),
    C("absolute", "x.absolute()"),
    C("median", "x.median()"), C("median", "x.median(dim=-1)"), C("median", "x.median(1, keepdim=True)"),
    C("narrow", "x.narrow(-1, 0, 2)"), C("narrow", "x.narrow(1, 1, 2)"), C("narrow", "x.narrow(dim=0, start=1, length=1)"),
    C("detach_", "x.detach_()"),
    C("cummin", "x.cummin(1)"), C("cummin", "x.cummin(dim=-1)"),
]

UNTESTED = frozenset()
