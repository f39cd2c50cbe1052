"""Finding the object a command runs from its `module:attribute` name."""

import pkgutil
import sys
from typing import TypeVar

T = TypeVar("T")

_EXPECTED = "expected module:attribute, e.g. myservice.jobs:app"


def load_target(target: str, kind: type[T]) -> T:
    """The `kind` named by `module:attribute`, imported with the working directory on the path.

    Raises `ValueError` for a malformed name and `TypeError` for a name of something else (or
    of nothing), each saying what was expected, so a command line can show it as is. A module
    that cannot be imported raises its own `ImportError`, traceback and all.
    """
    module_name, colon, attribute = target.partition(":")
    if not (module_name and colon and attribute):
        raise ValueError(f"{_EXPECTED}, got {target!r}")
    if "." not in sys.path:
        sys.path.insert(0, ".")  # `keel worker jobs:app` finds the service's own jobs.py
    try:
        found = pkgutil.resolve_name(target)
    except ValueError:
        raise ValueError(f"{_EXPECTED}, got {target!r}") from None
    except AttributeError as missing:
        if missing.name not in attribute.split("."):
            raise  # raised inside the module's own code, not by the name's lookup
        raise TypeError(f"{target}: {module_name} has no attribute {attribute!r}") from None
    if not isinstance(found, kind):
        raise TypeError(f"{target} is not a {kind.__module__}.{kind.__qualname__}")
    return found
