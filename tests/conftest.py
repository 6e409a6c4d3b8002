"""Shared test helpers.

`needs("mindspore")` skips a test when a framework is missing, except under CI=true, where a
missing framework is a failure: CI installs both, so a skip there would hide a broken install.
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

IN_CI = os.environ.get("CI", "").lower() == "true"


def needs(module: str):
    """Skip (or, under CI=true, fail) when `module` cannot be imported."""
    if importlib.util.find_spec(module) is not None:
        return
    if IN_CI:
        pytest.fail(f"{module} is not installed, but CI=true requires it (see .ci/run)")
    pytest.skip(f"{module} is not installed")


def _restored_environment():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


# Code under test may set variables for its own run (MS_OM_PATH, GLOG_v); a later test's subprocess must
# not inherit them as if the user had set them. Module-scoped fixtures (a shared in-process run) are
# covered by the module-scoped restore, which autouse makes the first of its scope.
_environment_restored_per_module = pytest.fixture(autouse=True, scope="module")(_restored_environment)
_environment_restored_per_test = pytest.fixture(autouse=True)(_restored_environment)


@pytest.fixture
def torch():
    needs("torch")
    import torch

    return torch


@pytest.fixture
def ms():
    needs("mindspore")
    import mindspore

    return mindspore
