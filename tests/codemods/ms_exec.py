"""Shared by the converter's execution tests: import a (converted) file under a chosen module name,
and a module-scoped MindSpore set-up (PyNative, CPU fallbacks applied, reverted afterwards)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from conftest import needs


def import_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ms_env():
    needs("mindspore")
    needs("torch")
    import mindspore

    import patches.mindspore as pm

    try:  # MindSpore 2.10 + NumPy 2: the first scalar op fails once (shared notes, section 0)
        mindspore.Tensor([1.0]) * 2.0
    except SystemError:
        pass
    mindspore.set_context(mode=mindspore.PYNATIVE_MODE)
    pm.apply()
    yield mindspore
    pm.revert()
