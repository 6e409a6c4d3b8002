"""mindbridge core: framework-neutral recipe, trainer loop, data, checkpoints and launcher.

Nothing here imports torch or mindspore at import time; backends are loaded lazily by name.

    import core
    summary = core.train("examples/llama/tiny.yaml", backend="torch", overrides={"train.steps": 50})
"""

__version__ = "0.1.0"


def train(recipe, backend=None, device=None, overrides=None, progress=False, log=print):
    """Run a recipe (path or core.recipe.Recipe) and return the run summary as a dict."""
    from core.launch import train as _train

    return _train(recipe, backend=backend, device=device, overrides=overrides, progress=progress, log=log)
