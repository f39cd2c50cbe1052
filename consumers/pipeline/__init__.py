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
- `execute`     async handlers on the loop, sync ones in a bounded thread pool, time limits
- `carrier`     async attempts share a task until one suspends, which keeps it
- `observer`    the hooks the engine calls around every attempt (telemetry implements them)
- `partition`   the state of one owned partition and of one record in it (`RecordState`)
- `offsets`     the committable watermark and the finished-above set in commit metadata
- `commit`      what to commit and when (interval, revoke, shutdown)
- `commit_reports` the answers to `source`'s asynchronous commits, paired with their commits
- `engine`      ties the stages together for every record; `keel.consumers.runner` owns the loop

Imports point one way. The pipeline reads the contract (`keel.schemas`) and the leaf modules of
`keel.consumers` a handler also sees (`signals`, `context`, `retry_policy`, `registrations`);
it never imports the App, the runner, telemetry or dead letters. Those sit above it:
`keel.consumers.dead_letters` writes what the engine sets aside (through its `DeadLetters`
protocol), `keel.consumers.telemetry` implements `observer`, and
`keel.consumers.engine_factory` assembles an engine from an App.
"""
