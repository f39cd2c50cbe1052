"""Imports inside keel.consumers point one way, read from the source so the rule cannot rot.

The pipeline reads the contract (keel.schemas) and the leaf modules a handler also sees; the App,
the runner, telemetry, dead letters and the in-memory tester sit above it and import it. A
cycle between the two would make `import keel.consumers` load the whole worker, and would let a
stage reach for the runner's business.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import keel

ROOT = Path(keel.__file__).parent
PIPELINE = "keel.consumers.pipeline"
# What the pipeline may import from keel.consumers outside itself: what a handler sees too.
LEAVES = frozenset(
    {
        "keel.consumers.circuit_policy",
        "keel.consumers.context",
        "keel.consumers.registrations",
        "keel.consumers.retry_policy",
        "keel.consumers.signals",
    }
)


def module_path(module: str) -> Path:
    relative = Path(*module.split(".")[1:])
    package = ROOT / relative / "__init__.py"
    return package if package.exists() else ROOT / relative.with_suffix(".py")


def modules_under(package: str) -> list[str]:
    folder = module_path(package).parent
    return sorted(
        ".".join(["keel", *path.relative_to(ROOT).with_suffix("").parts]).removesuffix(".__init__")
        for path in folder.rglob("*.py")
    )


def imported(module: str) -> set[str]:
    """The keel modules `module` imports, at any depth of its body (TYPE_CHECKING included)."""
    tree = ast.parse(module_path(module).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("keel.") and _exists(name)}


def loaded_with(module: str) -> set[str]:
    """Every keel module importing `module` loads: its imports, their packages, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(imported(name))
        todo.extend(_packages_of(name))
    return seen


def _packages_of(module: str) -> Iterator[str]:
    parts = module.split(".")
    for end in range(1, len(parts)):
        yield ".".join(parts[:end])


def _exists(module: str) -> bool:
    return module_path(module).exists()


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("module", modules_under(PIPELINE))
def test_the_pipeline_imports_only_itself_the_leaves_and_the_contract(module: str) -> None:
    reached = {
        name
        for name in imported(module)
        if _inside(name, "keel.consumers") and not _inside(name, PIPELINE)
    }
    assert reached <= LEAVES, f"{module} imports {sorted(reached - LEAVES)}"
    assert not any(_inside(name, "keel.load") for name in imported(module))


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_a_leaf_loads_nothing_of_the_pipeline(leaf: str) -> None:
    assert not any(_inside(name, PIPELINE) for name in loaded_with(leaf))


@pytest.mark.parametrize("public", ["keel", "keel.consumers"])
def test_the_public_surface_loads_nothing_of_the_pipeline(public: str) -> None:
    reached = sorted(name for name in loaded_with(public) if _inside(name, PIPELINE))
    assert reached == [], f"importing {public} loads {reached}"


def test_the_rule_reads_real_imports() -> None:
    # The runner does import the pipeline: an empty reading would pass every test above.
    assert "keel.consumers.pipeline.source" in imported("keel.consumers.runner")
    assert "keel.consumers.retry_policy" in imported("keel.consumers.pipeline.engine")


def test_a_test_in_a_nested_unit_folder_is_marked_unit(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None
