"""Runtime patches by dotted name: the manager (patches.manager), its conditions, and two sets:
patches.mindspore (CPU/GPU kernel fallbacks) and patches.torch_npu (fused kernels on NPU).

    python -m patches list            # see docs/patches.md
"""
