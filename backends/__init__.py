"""Framework backends behind one contract (backends/base.py); see core.registry for selection."""
