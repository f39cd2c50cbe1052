"""The consume pipeline, one module per stage.

    source ──poll──▶ decode ──job or poison──▶ lanes ──one per key──▶ execute
       ▲                                                                 │
       │ pause/resume (flow)                                  outcome + retry_policy.decide
       │                                                                 │
    commit ◀── offsets (contiguous watermark) ◀── settle ◀── DeadLetters (acked) / done

- `source`      the only poller of the Kafka consumer; never waits for handlers
- `intake`      how `source` takes a batch: at once when a record arrives, never a full wait
- `records`     the shape of a consumed record (`confluent_kafka.Message` fits it)
- `decode`      bytes to a typed job or a poison record; never raises into the loop
- `lanes`       same key one at a time in offset order, different keys concurrently
- `ready`       who gets a freed slot: the key with the most work left, none overtaken forever
- `flow`        buffered records per partition: pause one over its share, resume it lower
- `priority`    priority lanes (topics T.high, T, T.low): higher lanes start first, and in the
                strict mode lower lanes pause while a higher one holds work
- `circuit`     one job type's breaker: correlated failures open it, a probe closes it
- `holds`       the jobs of open circuits, held with their attempts intact, and the probes
- `expiry`      a job past its `keel-expires-at` at its start is dead-lettered or dropped, not run
- `execute`     async handlers on the loop, sync ones in a bounded thread pool, time limits
- `carrier`     async attempts share a task until one suspends, which keeps it
- `observer`    the hooks the engine calls around every attempt (telemetry implements them)
- `partition`   the state of one owned partition and of one record in it (`RecordState`)
- `arrivals`    when a partition's received records were published: its time lag
- `offsets`     the committable watermark and the finished-above set in commit metadata
- `metadata`    the commit metadata (`k2:`): finished-above offsets, attempts in flight, sealed
- `inherit`     a new owner counts on from the attempts a previous one began (`crash-loop`)
- `careful`     the claim, careful starts after an unclean handover, suspects run alone
- `commit`      what to commit and when (interval, revoke, shutdown)
- `commit_retry` the revoke's commit, tried again until the drain's deadline
- `deadline`    one moment that the steps of a revoke or a shutdown share
- `drain`       waiting for partitions to go idle, until a timeout or a cut
- `ownership`   after a freeze of the loop, nothing of a partition starts or settles until a
                commit proves it is still ours (or it is revoked, or lost: then disowned)
- `generation`  the group generation (KIP-848: member epoch), the first part of `Context.fence`
- `markers`     positions past transaction markers: the watermark reaches a partition's end
- `commit_reports` the answers to `source`'s asynchronous commits, paired with their commits
- `engine`      ties the stages together for every record; `keel.consumers.runner` owns the loop

Imports point one way. The pipeline reads the contract (`keel.schemas`) and the leaf modules of
`keel.consumers` a handler also sees (`signals`, `context`, `retry_policy`, `circuit_policy`,
`registrations`); it never imports the App, the runner, telemetry or dead letters. Those sit
above it: `keel.consumers.dead_letters` writes what the engine sets aside (through its
`DeadLetters` protocol), `keel.consumers.telemetry` implements `observer`, and
`keel.consumers.engine_factory` assembles an engine from an App.
"""
