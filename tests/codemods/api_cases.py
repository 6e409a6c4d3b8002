"""Output cases for tests/codemods/test_api_outputs.py, PaConvert's way: one tiny torch snippet per
mapped API, run as written on torch and, converted by codemods.convert_source, on MindSpore.
This file holds what the cases share (the inputs, the case format, the coverage bookkeeping); the
cases are in api_cases_tensor.py (creation, math, shape), api_cases_nn.py (functional, layers),
api_cases_misc.py (dtypes, constants, helpers) and api_cases_breadth.py (breadth names).

Each case is an expression over the fixed inputs named in INPUTS (every case function takes all of
them). `L(build, call)` is a layer case: `build` makes the module, torch's parameters are copied
into the MindSpore Cell by name and `call` (over `mod` and the inputs) runs it in eval mode.
`R(...)` is a random op: only shapes and dtypes are compared (and `check`, a predicate on the
numpy output that holds for both frameworks).

Coverage is kept for the tables this suite owns (TABLES: every yaml in codemods/mappings/ but
methods.yaml, modules.yaml and torch_layers.yaml, which have their own tests).
UNTESTED lists the table entries that still have no case and are not `unsupported`; the coverage
test requires it to equal the real set, so a new table entry needs a case (or an `unsupported:`
reason) and a case added for an old entry must also remove it from UNTESTED.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_rng = np.random.default_rng(7)


def _f(*shape, lo=-2.0, hi=2.0):
    return _rng.uniform(lo, hi, shape).astype(np.float32)


_lt = np.tril(_f(2, 3, 3)) + 3 * np.eye(3, dtype=np.float32)
INPUTS = {
    "x": _f(2, 3, 4),
    "y": _f(2, 3, 4),
    "p": _f(2, 3, 4, lo=0.1, hi=2.0),  # positive
    "u": _f(2, 3, 4, lo=-0.9, hi=0.9),  # in (-1, 1)
    "m": _f(3, 3),
    "lt": _lt,  # batched lower-triangular, well conditioned
    "v": _f(5),
    "i": _rng.integers(0, 4, (2, 3, 4)).astype(np.int64),
    "j": np.array([1, 1, 2, 3, 3, 3, 0], dtype=np.int64),
    "b": _rng.uniform(size=(2, 3, 4)) > 0.5,
    "s": np.array([-1.0, 0.0, 1.0], dtype=np.float32),  # sorted boundaries
    "img": _f(2, 3, 6, 6),
    "seq": _f(2, 3, 8),
    "logits": _f(4, 5),
    "tgt": np.array([0, 3, 4, 1], dtype=np.int64),
    "prob": _f(4, 5, lo=0.05, hi=0.95),
}
ARGS = ", ".join(INPUTS)


@dataclass(frozen=True)
class Case:
    api: str
    expr: str  # expression over INPUTS (layer cases: the call over `mod`)
    build: str | None = None  # layer cases: the module constructor
    random: bool = False
    check: str | None = None  # random cases: a predicate over `out` (numpy) that must hold for both
    tol: float = 1e-5  # float outputs: |ms - torch| <= tol + tol * |torch|


def L(api, build, call="mod(x)", tol=1e-5):
    return Case(api, call, build=build, tol=tol)


def R(api, expr, check=None):
    return Case(api, expr, random=True, check=check)


C = Case


TABLES = ("creation", "math", "shape", "functional", "layers", "dtypes", "misc", "optim")
# torch.square / torch.pow(x, 2) are rewritten to (x * x) by rule MB205 before the table is read.
RULE_REWRITTEN = frozenset({"torch.square"})

# Table entries with no case yet (and not `unsupported`): the coverage test keeps this exact.
UNTESTED = frozenset("""
torch.polar
torch.cuda.current_device
torch.nn.utils.clip_grad_norm_
torch.nn.functional.conv3d torch.nn.functional.conv_transpose2d torch.nn.functional.cosine_embedding_loss
torch.nn.functional.dropout2d torch.nn.functional.grid_sample torch.nn.functional.max_unpool2d
torch.nn.functional.prelu
torch.nn.AdaptiveAvgPool3d torch.nn.AdaptiveMaxPool1d torch.nn.AdaptiveMaxPool2d torch.nn.AvgPool3d
torch.nn.BCELoss torch.nn.BatchNorm3d torch.nn.ConstantPad2d torch.nn.ConstantPad3d torch.nn.Conv3d
torch.nn.ConvTranspose2d torch.nn.CosineEmbeddingLoss torch.nn.Dropout2d torch.nn.Fold torch.nn.Hardshrink
torch.nn.LogSigmoid torch.nn.MaxUnpool2d torch.nn.ReflectionPad2d torch.nn.ReflectionPad3d
torch.nn.ReplicationPad1d torch.nn.ReplicationPad3d torch.nn.SoftMarginLoss torch.nn.Softshrink
torch.nn.SyncBatchNorm torch.nn.Threshold torch.nn.Unfold torch.nn.UpsamplingBilinear2d
torch.nn.UpsamplingNearest2d torch.nn.ZeroPad1d torch.nn.ZeroPad3d torch.nn.CosineEmbeddingLoss
torch.nn.Module torch.nn.parameter.Parameter torch.nn.ParameterList
torch.complex64 torch.complex128
torch.manual_seed torch.random.manual_seed torch.cuda.manual_seed torch.cuda.manual_seed_all
torch.cuda.synchronize
torch.optim.ASGD torch.optim.Adadelta torch.optim.Adagrad torch.optim.Adam torch.optim.AdamW torch.optim.Adamax
torch.optim.NAdam torch.optim.Optimizer torch.optim.RAdam torch.optim.RMSprop torch.optim.Rprop torch.optim.SGD
torch.optim.lr_scheduler.ConstantLR torch.optim.lr_scheduler.CosineAnnealingLR
torch.optim.lr_scheduler.CosineAnnealingWarmRestarts torch.optim.lr_scheduler.CyclicLR
torch.optim.lr_scheduler.ExponentialLR torch.optim.lr_scheduler.LRScheduler torch.optim.lr_scheduler.LambdaLR
torch.optim.lr_scheduler.LinearLR torch.optim.lr_scheduler.MultiStepLR torch.optim.lr_scheduler.MultiplicativeLR
torch.optim.lr_scheduler.PolynomialLR torch.optim.lr_scheduler.ReduceLROnPlateau torch.optim.lr_scheduler.SequentialLR
torch.optim.lr_scheduler.StepLR torch.optim.lr_scheduler._LRScheduler
""".split())
