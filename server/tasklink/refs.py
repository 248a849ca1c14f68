"""Objects named in manifests as `module:attribute` (adapters, simulators), imported on first use."""

from __future__ import annotations

import importlib
from typing import Any


def load_object(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def sibling(ref: str, attr: str) -> Any:
    """Another attribute of the module `ref` names (a simulator's demo_settings beside its app factory)."""

    return load_object(f"{ref.partition(':')[0]}:{attr}")
