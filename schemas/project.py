"""Where a service keeps its contract: its schema directory and the module generated from it.

Read from the `[tool.keel]` table of the nearest `pyproject.toml` at or above the working
directory, overridden by the environment (`KEEL_SCHEMAS_DIR`, `KEEL_JOBS_MODULE`), and those by
a command's own flags. Relative paths are taken from the project root (the folder of that
`pyproject.toml`, or the working directory when there is none), so a command gives the same
answer from any subfolder of the service:

    [tool.keel]
    schemas_dir = "avro"
    jobs_module = "signup/jobs.py"
"""

import tomllib
from pathlib import Path

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    PyprojectTomlConfigSettingsSource,
    SettingsConfigDict,
)

PYPROJECT = "pyproject.toml"


def find_pyproject(start: Path) -> Path | None:
    """The nearest `pyproject.toml` in `start` or a folder above it."""
    for folder in [start, *start.parents]:
        candidate = folder / PYPROJECT
        if candidate.is_file():
            return candidate
    return None


class ProjectSettings(BaseSettings):
    """The service's schema directory and generated module, as the project states them."""

    model_config = SettingsConfigDict(
        env_prefix="KEEL_",
        frozen=True,
        extra="ignore",
        pyproject_toml_table_header=("tool", "keel"),
    )

    schemas_dir: Path = Path("avro")
    jobs_module: Path = Path("jobs.py")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        pyproject = PyprojectTomlConfigSettingsSource(settings_cls, find_pyproject(Path.cwd()))
        return init_settings, env_settings, pyproject

    @property
    def root(self) -> Path:
        """The project root: relative paths start here."""
        found = find_pyproject(Path.cwd())
        return found.parent if found else Path.cwd()

    def identity(self) -> tuple[str, str]:
        """The project's name and version from its `[project]` table, for documents about it."""
        found = find_pyproject(Path.cwd())
        table = tomllib.loads(found.read_text()).get("project", {}) if found else {}
        return str(table.get("name", "jobs")), str(table.get("version", "0.0.0"))

    def schema_directory(self, override: Path | None = None) -> Path:
        """The schema directory: `override` (a flag, from the working directory) or the setting."""
        return override if override is not None else self.root / self.schemas_dir

    def module_path(self, override: Path | None = None) -> Path:
        """The generated module: `override` (a flag, from the working directory) or the setting."""
        return override if override is not None else self.root / self.jobs_module
