"""Finding the object a command runs from its `module:attribute` name."""

import importlib
import sys
from typing import TypeVar

T = TypeVar("T")


def load_target(target: str, kind: type[T]) -> T:
    """The `kind` named by `module:attribute`, imported with the working directory on the path.

    Raises `ValueError` for a malformed name and `TypeError` for a name of something else,
    each saying what was expected, so a command line can show it as is.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected module:attribute, e.g. myservice.jobs:app, got {target!r}")
    if "." not in sys.path:
        sys.path.insert(0, ".")
    found = getattr(importlib.import_module(module_name), attribute, None)
    if not isinstance(found, kind):
        raise TypeError(f"{target} is not a {kind.__module__}.{kind.__qualname__}")
    return found
