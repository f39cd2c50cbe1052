"""The app each worker process of a load run serves: `keel worker keel.load.worker:app`.

Every run of a job, failed attempts included, is logged with its start and end, the worker's
pid and the attempt (`keel.load.completions`), so the oracle can judge each run, not only the
first success. Injected failures are retried quickly (the load profile makes them fail only
once), so a run with failures measures keel's retry path without waiting out production
backoffs.
"""

from keel.consumers import App, Context, RetryPolicy
from keel.load.catalog import load_catalog
from keel.load.jobs import LoadJob
from keel.load.profile import default_handler

app = App("keel-load", catalog=load_catalog(), retry=RetryPolicy(base_delay=0.01, max_delay=0.1))


@app.handler(LoadJob)
async def run_load_job(job: LoadJob, ctx: Context) -> None:
    await default_handler()(job, ctx.attempt)
