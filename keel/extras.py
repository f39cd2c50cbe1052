"""The optional parts of keel: which command groups need which extra.

The core install (`pip install keel-jobs`) runs every command but these; each of them imports
its modules only when the command line asks for it, so a missing extra costs the other commands
nothing and the asking command one line that names the extra.
"""

import pkgutil
from dataclasses import dataclass

import typer

DISTRIBUTION = "keel-jobs"


class MissingExtraError(Exception):
    """A command needs packages of an extra that is not installed; the message says which."""


@dataclass(frozen=True)
class OptionalGroup:
    """A command group whose modules import the packages of one extra."""

    target: str  # module:attribute of its typer.Typer
    extra: str
    modules: frozenset[str]  # the top-level modules that the extra installs
    summary: str  # shown by `keel --help` without importing the group

    def load(self, name: str) -> typer.Typer:
        """The group's Typer, imported now; `MissingExtraError` if the extra is not installed."""
        try:
            group = pkgutil.resolve_name(self.target)
        except ModuleNotFoundError as missing:
            if (missing.name or "").partition(".")[0] not in self.modules:
                raise
            raise MissingExtraError(
                f"keel {name} needs the '{self.extra}' extra: "
                f"pip install '{DISTRIBUTION}[{self.extra}]'"
            ) from None
        if not isinstance(group, typer.Typer):
            raise TypeError(f"{self.target} is not a typer.Typer")
        return group

    def placeholder(self) -> typer.Typer:
        """An empty group that stands in for this one in `keel --help`."""
        return typer.Typer(help=self.summary)


_HARNESS = frozenset({"hdrh", "matplotlib"})

OPTIONAL_GROUPS = {
    "bench": OptionalGroup(
        "keel.load.cli:bench_app",
        "load",
        _HARNESS,
        "Benchmarks against the configured cluster (the 'load' extra).",
    ),
    "load": OptionalGroup(
        "keel.load.cli:load_app",
        "load",
        _HARNESS,
        "Load tests against a real broker: throughput, latency, correctness (the 'load' extra).",
    ),
    "console": OptionalGroup(
        "keel.consumers.console.cli:console_app",
        "console",
        frozenset({"fastapi", "starlette", "jinja2", "uvicorn", "multipart", "python_multipart"}),
        "The operator console: groups, lag, rates, dead letters, replay (the 'console' extra).",
    ),
}
