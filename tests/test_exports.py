"""The public surface: every name in __all__ exists, in every public module."""

from __future__ import annotations

import importlib
import pkgutil

import collector


def test_all_names_exist_everywhere() -> None:
    """Each module's __all__ lists only names it defines or imports."""
    modules = [collector] + [
        importlib.import_module(m.name)
        for m in pkgutil.walk_packages(collector.__path__, "collector.")
        if not m.name.endswith("__main__")
    ]
    for module in modules:
        names = getattr(module, "__all__", None)
        assert names is not None, f"{module.__name__} has no __all__"
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.__all__ lists missing {name}"
