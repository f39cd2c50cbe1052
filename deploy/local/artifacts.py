"""Fetching the broker's jars and the registry's distribution into keel's cache, once.

Each artifact is assembled in a staging directory beside its final place and renamed into place
only when complete, with a marker file written last. A directory without the marker is never
used: an interrupted or failed download is thrown away and fetched again.
"""

import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from keel.deploy.local.errors import DownloadError, MissingToolError

KAFKA_VERSION = "4.3.1"
APICURIO_VERSION = "3.3.3"
_APICURIO_ARTIFACT = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
_POM = Path(__file__).with_name("pom.xml")
_COMPLETE = ".complete"
_MAVEN_TIMEOUT_S = 900


def kafka_jars(cache_dir: Path) -> Path:
    """The directory holding the Kafka broker's runtime classpath."""
    return _cached(cache_dir / f"kafka-{KAFKA_VERSION}", _collect_kafka_jars)


def apicurio_home(cache_dir: Path) -> Path:
    """The unpacked Apicurio Registry distribution (the folder with quarkus-run.jar)."""
    return _cached(cache_dir / f"apicurio-registry-{APICURIO_VERSION}", _unpack_apicurio)


def is_cached(target: Path) -> bool:
    return (target / _COMPLETE).is_file()


def _cached(target: Path, build: Callable[[Path], None]) -> Path:
    if is_cached(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(staging)
        (staging / _COMPLETE).write_text("complete\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _collect_kafka_jars(staging: Path) -> None:
    _maven(
        "-f",
        str(_POM),
        f"-Dkafka.version={KAFKA_VERSION}",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    )
    if not (staging / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
        raise DownloadError(f"Maven finished but kafka_2.13-{KAFKA_VERSION}.jar is missing")


def _unpack_apicurio(staging: Path) -> None:
    download = staging / "download"
    _maven("dependency:copy", f"-Dartifact={_APICURIO_ARTIFACT}", f"-DoutputDirectory={download}")
    archives = list(download.glob("*.tar.gz"))
    if len(archives) != 1:
        raise DownloadError(f"expected one Apicurio archive in {download}, found {archives}")
    with tarfile.open(archives[0]) as archive:
        archive.extractall(staging, filter="data")
    shutil.rmtree(download)
    if not (staging / "quarkus-run.jar").is_file():
        raise DownloadError("the Apicurio archive has no quarkus-run.jar")


def _maven(*arguments: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingToolError(
            "Maven (mvn) is needed once, to fetch Kafka and the schema registry from Maven "
            "Central: install it (apt-get install maven), or point KAFKA_BOOTSTRAP_SERVERS and "
            "SCHEMA_REGISTRY_URL at an existing cluster"
        )
    command = [mvn, "-B", "-q", "--no-transfer-progress", *arguments]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_MAVEN_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DownloadError(f"Maven did not finish in {_MAVEN_TIMEOUT_S}s: {command}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise DownloadError(
            f"Maven could not fetch the artifacts (is Maven Central reachable?). "
            f"Nothing partial was kept. Maven said:\n{tail}"
        )
