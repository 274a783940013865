"""Cost model for long-running AI agents: run traces, runtime metrics, pricing plans, workloads."""

from cost_model.errors import InputError

__all__ = ["InputError"]
