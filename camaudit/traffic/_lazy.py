"""A module imported on first use: start-up pays only for what the input needs."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for module ``name`` and imports it when an attribute is first read."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._real: ModuleType | None = sys.modules.get(name)

    def __getattr__(self, attr: str) -> Any:
        if self._real is None:
            self._real = importlib.import_module(self.__name__)
        return getattr(self._real, attr)
