"""transformers.integrations' hub-kernel decorators: identities (the model's own code runs)."""


def use_kernel_forward_from_hub(name):
    return lambda cls: cls


def use_kernelized_func(*funcs):
    return lambda cls: cls


def use_experts_implementation(cls=None, **kwargs):
    """The experts' kernel choice (grouped_mm, ...): the family's own loop runs."""
    return cls if cls is not None else (lambda c: c)
