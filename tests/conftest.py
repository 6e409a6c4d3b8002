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


@pytest.fixture(autouse=True)
def _environment_restored():
    """Code under test may set variables for its own run (MS_OM_PATH, GLOG_v); a later test's
    subprocess must not inherit them as if the user had set them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


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
