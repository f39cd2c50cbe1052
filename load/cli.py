"""`keel bench`: load measurements that print JSON for machines or a line for people."""

import json

import typer

from load.bench import run_publish_bench
from schemas.settings import ClusterSettings

bench_app = typer.Typer(help="Benchmarks against the configured cluster.", no_args_is_help=True)


@bench_app.command("publish")
def publish(
    jobs: int = typer.Option(100_000, min=1, max=1_000_000, help="Jobs per round and path."),
    rounds: int = typer.Option(3, min=1, max=10, help="Rounds per path, interleaved."),
    partitions: int = typer.Option(12, min=1, max=64, help="Partitions of the bench topic."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Typed publishing (validate + encode + produce) against raw confluent-kafka."""
    result = run_publish_bench(ClusterSettings(), jobs, rounds, partitions)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(
        f"typed {result.typed_per_s:,.0f}/s  raw {result.raw_per_s:,.0f}/s  "
        f"ratio {result.ratio:.2f}  ({jobs:,} jobs x {rounds} rounds, {partitions} partitions)"
    )
