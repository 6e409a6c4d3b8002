"""The `ms` fixture of the tests/hf MindSpore tests: MindSpore on CPU in PyNative with our kernel patches
applied for the module, reverted after it. Import it into a test module: `from mindspore_fixture import ms`."""

import pytest

from conftest import needs


@pytest.fixture(scope="module")
def ms():
    needs("mindspore")
    needs("torch")
    needs("transformers")
    import mindspore

    import patches.mindspore

    mindspore.set_context(device_target="CPU", mode=mindspore.PYNATIVE_MODE)
    patches.mindspore.apply("CPU")
    yield mindspore
    patches.mindspore.revert()
