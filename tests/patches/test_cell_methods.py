"""patches/mindspore/cell_methods.py: torch.nn.Module's traversal/mode methods on mindspore.nn.Cell give
what torch gives for the same model (names, order, tied weights once, train/eval returning self),
and are removed again on revert."""

import pytest

from conftest import needs


@pytest.fixture
def pair():
    needs("torch")
    needs("mindspore")
    import mindspore
    import torch
    from mindspore import mint, nn

    import patches.mindspore as pm

    class TBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 3)
            self.seq = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
            self.head = torch.nn.Linear(3, 3)
            self.head.weight = self.lin.weight  # tied

    class MBlock(nn.Cell):
        def __init__(self):
            super().__init__()
            self.lin = mint.nn.Linear(3, 3)
            self.seq = nn.SequentialCell([mint.nn.Linear(3, 2), mint.nn.ReLU()])
            self.head = mint.nn.Linear(3, 3)
            self.head.weight = self.lin.weight

    pm.apply()
    yield TBlock(), MBlock(), mindspore
    pm.revert()


def test_parameter_and_module_traversal_matches_torch(pair):
    t, m, _ = pair
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert len(list(m.parameters())) == len(list(t.parameters())) == 5  # tied weight once
    assert [n for n, _ in m.named_parameters(prefix="model")] == [n for n, _ in t.named_parameters(prefix="model")]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert len(list(m.modules())) == len(list(t.modules()))
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert [type(c).__name__ for c in m.children()] == ["Linear", "SequentialCell", "Linear"]


def test_train_eval_requires_grad_and_zero_grad(pair):
    t, m, _ = pair
    assert m.train() is m and m.training and t.train() is t and t.training
    assert m.eval() is m and not m.training
    assert m.train(False) is m and not m.training
    with pytest.raises(ValueError):
        m.train("yes")
    assert m.requires_grad_(False) is m and not any(p.requires_grad for p in m.get_parameters())
    m.requires_grad_()
    assert all(p.requires_grad for p in m.get_parameters())
    assert m.zero_grad() is None


def test_revert_removes_the_methods(pair):
    _, _, mindspore = pair
    import patches.mindspore as pm

    pm.revert()
    assert not hasattr(mindspore.nn.Cell, "named_parameters") and not hasattr(mindspore.nn.Cell, "train")
    pm.apply()
    assert hasattr(mindspore.nn.Cell, "train")
