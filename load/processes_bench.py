"""`keel worker --processes 2` against one process, on CPU-bound 1 ms handlers.

    python -m keel.load.processes_bench --jobs 8000 --rounds 3

Each round starts a real `keel worker keel.load.worker:app` (with `--processes 2`, or without),
waits until every process holds partitions, publishes `--jobs` jobs to a fresh topic, and
times them from the first handler start to the last handler end, read from the workers' own
completion logs (`keel.load.completions`); each job burns 1 ms of CPU in its handler
(`KEEL_LOAD_CPU_MS`), so one process runs at most about 1,000 jobs/s. The two set-ups alternate,
rotating which goes first, so drift on a shared machine hits both; the ratio is of the medians.

The broker, the registry and this script share the machine's cores with the workers. Each
round reports the CPU seconds the worker processes used, those of the broker and registry (their
pids given with `--server-pid`, e.g. from `keel broker status`), and those of the whole machine,
so what the broker costs on the same cores is visible beside the ratio.

Without KAFKA_BOOTSTRAP_SERVERS it starts a private local stack on free ports (as
`keel.load.worker_bench` does). Numbers are printed as JSON, never asserted.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx2
import psutil

from keel.deploy.local.ports import pick_free_ports
from keel.load.catalog import load_catalog
from keel.load.completions import read_completions
from keel.load.jobs import LoadJob
from keel.load.topics import delete_topics
from keel.load.worker_bench import cluster
from keel.producers.publisher import Publisher
from keel.producers.settings import ProducerSettings, Route
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic, quarantine_topic

APP_TARGET = "keel.load.worker:app"
CPU_MS = 1.0
KEYS = 1000
PARTITIONS = 12
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Round:
    """One timed run of one set-up."""

    processes: int
    jobs_per_s: float
    seconds: float
    worker_cpu_s: float  # the worker processes (the supervisor and its children)
    server_cpu_s: float  # the processes named by --server-pid: the broker and the registry
    machine_cpu_s: float  # every process on the machine, anything else running included


def run_round(
    settings: ClusterSettings, processes: int, jobs: int, scratch: Path, servers: list[int]
) -> Round:
    """Start the worker(s), publish `jobs` jobs, time them, stop the worker(s)."""
    topic = f"bench.processes.{uuid.uuid4().hex[:8]}"
    ensure_topics(clients.admin(settings), {topic: PARTITIONS})
    logs = scratch / topic
    (port,) = pick_free_ports(1)
    pod = _start(settings, topic, processes, port, logs)
    try:
        _wait_ready(pod, port, processes)
        machine_before = _machine_cpu_s()
        worker_before = _tree_cpu_s(pod.pid)
        servers_before = sum(_tree_cpu_s(pid) for pid in servers)
        _publish(settings, topic, jobs)
        _wait_done(pod, logs, jobs)
        worker_cpu = _tree_cpu_s(pod.pid) - worker_before
        server_cpu = sum(_tree_cpu_s(pid) for pid in servers) - servers_before
        machine_cpu = _machine_cpu_s() - machine_before
    finally:
        pod.send_signal(signal.SIGTERM)
        pod.wait(STOP_TIMEOUT_S)
        made = [topic, dead_letter_topic(topic), quarantine_topic(_group(topic))]
        delete_topics(settings, made)
    runs = [logged.run for logged in read_completions(logs.glob("completions-*.log"))]
    seconds = (max(r.end_ns for r in runs) - min(r.start_ns for r in runs)) / 1e9
    return Round(processes, jobs / seconds, seconds, worker_cpu, server_cpu, machine_cpu)


def _group(topic: str) -> str:
    return f"bench-{topic}"


def _start(
    settings: ClusterSettings, topic: str, processes: int, port: int, logs: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        "KEEL_WORKER_TOPICS": json.dumps([topic]),
        "KEEL_WORKER_GROUP_ID": _group(topic),
        "KEEL_WORKER_HEALTH_PORT": str(port),
        "KEEL_WORKER_SESSION_TIMEOUT_MS": "6000",
        "KEEL_LOAD_CPU_MS": str(CPU_MS),
        "KEEL_LOAD_LOG_DIR": str(logs),
    }
    command = [sys.executable, "-m", "keel", "worker", APP_TARGET, "--log-level", "WARNING"]
    if processes > 1:
        command += ["--processes", str(processes)]
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)


def _wait_ready(pod: subprocess.Popen[bytes], port: int, processes: int) -> None:
    """Until the pod is ready with partitions in every process (one answer for all of them)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _every_process_assigned(port, processes):
        if pod.poll() is not None:
            raise RuntimeError(f"the worker exited with {pod.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker was not ready in {READY_TIMEOUT_S} s")
        time.sleep(0.1)


def _every_process_assigned(port: int, processes: int) -> bool:
    try:
        answer = httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
    except httpx2.HTTPError:
        return False
    if answer.status_code != httpx2.codes.OK:
        return False
    body = answer.json()
    children = body.get("children", [body])  # one process answers for itself
    return len(children) == processes and all(c.get("partitions", 0) > 0 for c in children)


def _publish(settings: ClusterSettings, topic: str, jobs: int) -> None:
    routes = ProducerSettings(routes={LoadJob.get_fullname(): Route(topic=topic)})
    with Publisher(settings, routes, load_catalog()) as publisher:
        for n in range(jobs):
            key = f"k{n % KEYS}"
            job = LoadJob(key=key, seq=n // KEYS, intended_ns=time.time_ns())
            publisher.publish_nowait(job, key=key)


def _wait_done(pod: subprocess.Popen[bytes], logs: Path, jobs: int) -> None:
    while _lines(logs) < jobs:
        if pod.poll() is not None:
            raise RuntimeError(f"the worker exited with {pod.returncode}")
        time.sleep(0.2)


def _lines(logs: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in logs.glob("completions-*.log"))


def _tree_cpu_s(pid: int) -> float:
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _machine_cpu_s() -> float:
    times = psutil.cpu_times()
    return float(times.user + times.system + times.nice + getattr(times, "softirq", 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--server-pid", type=int, action="append", default=[], help="broker/registry pid"
    )
    args = parser.parse_args()
    setups = [1, args.processes]
    rounds: list[Round] = []
    with cluster() as settings, tempfile.TemporaryDirectory() as scratch:
        for number in range(args.rounds):
            for offset in range(len(setups)):
                processes = setups[(number + offset) % len(setups)]
                rounds.append(
                    run_round(settings, processes, args.jobs, Path(scratch), args.server_pid)
                )
                print(json.dumps(asdict(rounds[-1])), file=sys.stderr)
    medians = {
        n: statistics.median(r.jobs_per_s for r in rounds if r.processes == n) for n in setups
    }
    result = {
        "jobs": args.jobs,
        "cpu_ms": CPU_MS,
        "cores": psutil.cpu_count(),
        "one_process_per_s": medians[1],
        "n_processes_per_s": medians[args.processes],
        "ratio": medians[args.processes] / medians[1],
        "rounds": [asdict(r) for r in rounds],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
