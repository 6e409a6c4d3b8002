"""transformers.utils.output_capturing on MindSpore: capture_outputs records what a family's
`_can_record_outputs` names (hidden states, attentions, the MoE routers' logits) as transformers'
forward hooks do, by wrapping the construct of the matching cells for the length of one call.

The rules are transformers' own: a spec that is not an OutputRecorder records output[0] for hidden
states and output[1] otherwise; hidden states start with the first layer's input
(`capture_initial_hidden_state`); `output_hidden_states` may be an index or a list of indices
(negative ones counted from config.num_hidden_layers + 1), and only those are kept, the others are
None; the last one is replaced by `last_hidden_state` unless `tie_last_hidden_states=False` (CLIP,
SigLIP) or config.tie_last_hidden_states says otherwise; a nested PreTrainedModel records with its own
`_can_record_outputs`; a recording goes to the innermost capture_outputs call that is running.
select_hidden_states (LLaVA's get_image_features: only `vision_feature_layer` is captured) is
transformers' own decorator, framework-neutral.
"""

from __future__ import annotations

import functools
import inspect

_ACTIVE: list[dict] = []  # the collectors of the capture_outputs calls running, innermost last


class OutputRecorder:
    """A layer class (or a module-path suffix) whose output[index] is recorded under a `_can_record_outputs` key."""

    def __init__(self, target_class=None, index=0, layer_name=None, class_name=None, capture_initial_hidden_state=True,
                 num_hidden_layers_key="num_hidden_layers"):
        self.target_class, self.index, self.layer_name, self.class_name = target_class, index, layer_name, class_name
        self.capture_initial_hidden_state = capture_initial_hidden_state
        self.num_hidden_layers_key = num_hidden_layers_key

    def matches(self, name, cell) -> bool:
        """transformers' recursively_install_hooks: the class, or the path suffix `class_name`; then `layer_name`."""
        if not ((self.target_class is not None and isinstance(cell, self.target_class))
                or (self.class_name is not None and name.endswith(self.class_name))):
            return False
        return self.layer_name is None or f".{self.layer_name.strip('.')}." in f"{name}."


def _tasks(model) -> list[tuple[str, OutputRecorder]]:
    tasks = []
    for key, specs in (getattr(model, "_can_record_outputs", None) or {}).items():
        for spec in specs if isinstance(specs, list) else [specs]:
            if not isinstance(spec, OutputRecorder):
                spec = OutputRecorder(target_class=None if isinstance(spec, str) else spec,
                                      index=0 if "hidden_states" in key else 1,
                                      class_name=spec if isinstance(spec, str) else None)
            tasks.append((key, spec))
    return tasks


def _record(collected: dict, key: str, spec: OutputRecorder, args, output) -> None:
    """transformers' output_capturing_hook, on the collector of the innermost running call."""
    if key not in collected:
        return
    if key == "hidden_states":
        selection = collected.get("_hidden_states_layers")
        states = collected[key]

        def append(state):
            states.append(state if selection is None or len(states) in selection else None)

        if spec.capture_initial_hidden_state and not states:
            append(args[0])
        state = output[spec.index] if isinstance(output, tuple) else output
        if state is not None:
            append(state)
        return
    if not isinstance(output, tuple):
        collected[key].append(output)
    elif output[spec.index] is not None:
        collected[key].append(output[spec.index])


def _wrap(cell, hooks: list, wrapped: list) -> None:
    original = cell.construct

    def construct(*args, **kwargs):
        output = original(*args, **kwargs)
        if _ACTIVE:
            for key, spec in hooks:
                _record(_ACTIVE[-1], key, spec, args, output)
        return output

    object.__setattr__(cell, "construct", construct)  # an instance attribute, removed after the call
    wrapped.append(cell)


def _install(model, wrapped: list) -> None:
    """Wrap the cells of `model` that its tasks match (a nested PreTrainedModel: with its own tasks), as
    transformers' install_all_output_capturing_hooks; a cell already wrapped by an outer call is left as it is."""
    from backends.mindspore.compat_hf.modeling_utils import PreTrainedModel

    def walk(cell, name, tasks):
        for child_name, child in cell.name_cells().items():
            if isinstance(child, PreTrainedModel):
                walk(child, f"{name}.{child_name}", _tasks(child))
            else:
                walk(child, f"{name}.{child_name}", tasks)
        hooks = [(key, spec) for key, spec in tasks if spec.matches(name, cell)]
        if hooks and "construct" not in vars(cell):
            _wrap(cell, hooks, wrapped)

    walk(model, "", _tasks(model))


def selected_hidden_states(output_hidden_states) -> list[int] | None:
    """The hidden state indices `output_hidden_states` selects, or None if it is a flag."""
    if isinstance(output_hidden_states, bool) or output_hidden_states is None:
        return None
    if isinstance(output_hidden_states, int):
        return [output_hidden_states]
    return list(output_hidden_states)


def resolve_hidden_states_indices(model, selected: list[int], num_hidden_states: int | None = None) -> set[int]:
    """Negative indices counted from the number of hidden states (config's layers, + 1 for the initial one)."""
    if num_hidden_states is None:
        spec = dict(_tasks(model)).get("hidden_states")
        key = getattr(spec, "num_hidden_layers_key", "num_hidden_layers")
        layers = getattr(model.config, key, None)
        if layers is None:
            if any(i < 0 for i in selected):
                raise ValueError(f"{type(model).__name__} cannot select hidden states with negative indices {selected} "
                                 f"because its config does not define `{key}`.")
            return set(selected)
        num_hidden_states = layers + int(getattr(spec, "capture_initial_hidden_state", True))
    return {i % num_hidden_states for i in selected if -num_hidden_states <= i < num_hidden_states}


def select_hidden_states(selection):
    """Only the hidden states the argument `selection` names (or `selection(model)` returns) are captured by the
    sub-models the method forwards its kwargs to, unless the caller asks for hidden states itself."""
    def wrapped_fn(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            if not kwargs.get("output_hidden_states"):
                if isinstance(selection, str):
                    bound = signature.bind(self, *args, **kwargs)
                    bound.apply_defaults()
                    kwargs["output_hidden_states"] = bound.arguments[selection]
                else:
                    kwargs["output_hidden_states"] = selection(self)
            return func(self, *args, **kwargs)
        return wrapper
    return wrapped_fn


def capture_outputs(func=None, *, tie_last_hidden_states=True):
    def wrapped_fn(func):
        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            return_dict = kwargs.pop("return_dict", getattr(self.config, "return_dict", True))
            capturable = {key for key, _ in _tasks(self)}
            flags = {key: kwargs.get(f"output_{key}", getattr(self.config, f"output_{key}", False))
                     for key in capturable}
            for key in ("cross_attentions", "mask_decoder_attentions"):  # captured with output_attentions, as before
                if key in capturable:
                    flags[key] = kwargs.get("output_attentions", getattr(self.config, "output_attentions", False))
            collected = {key: [] for key, flag in flags.items() if flag}
            selected = selected_hidden_states(flags.get("hidden_states"))
            if selected is not None:
                collected["_hidden_states_layers"] = resolve_hidden_states_indices(self, selected)
            wrapped = []
            if collected:
                _install(self, wrapped)
            _ACTIVE.append(collected)
            try:
                outputs = func(self, *args, **kwargs)
            finally:
                _ACTIVE.pop()
                for cell in wrapped:
                    object.__delattr__(cell, "construct")
            collected.pop("_hidden_states_layers", None)
            for key, values in collected.items():
                if key == "hidden_states":
                    tie = getattr(self.config, "tie_last_hidden_states", None)
                    tie = tie_last_hidden_states if tie is None else tie
                    if tie and values and values[-1] is not None:
                        if hasattr(outputs, "vision_hidden_states"):
                            values[-1] = outputs.vision_hidden_states
                        elif hasattr(outputs, "last_hidden_state"):
                            values[-1] = outputs.last_hidden_state
                outputs[key] = tuple(values)
            return outputs if return_dict else outputs.to_tuple()
        return wrapper
    return wrapped_fn(func) if func is not None else wrapped_fn
