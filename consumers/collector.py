"""The worker process's garbage-collector settings, set once when `keel worker` starts.

CPython runs its cycle collector every time 700 more container objects have been allocated than
freed. A plain consume-and-handle loop frees each job's objects before it takes the next record,
so that count hardly moves. A keel worker holds its buffer: thousands of accepted records, each
with its decoded job, record state and context, alive until the job ends. At the default
threshold the collector runs every few hundred jobs, walks those live objects, finds no cycle,
and promotes them into older generations that it later walks again. In-process measurements of
the engine (docs/benchmarks.md) put that at 3-5 µs of a no-op job's ~20 µs.

So the worker first freezes what start-up built (modules, models, clients: never garbage, never
walked again) and raises the first generation's threshold above what its buffer holds. Cycles
are still collected, just in fewer, larger passes; the memory this can leave waiting is a few
thousand small objects between passes.
"""

import gc

# Python's own default: `gc.get_threshold()[0]` in a fresh interpreter.
PYTHON_DEFAULT = 700


def tune(first_generation: int) -> None:
    """Freeze the start-up heap and collect the youngest generation every `first_generation`.

    `first_generation` at or below Python's default leaves the collector as Python set it.
    """
    if first_generation <= PYTHON_DEFAULT:
        return
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(first_generation, second, third)
