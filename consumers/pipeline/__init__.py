"""The consume pipeline, one module per stage.

    source ──poll──▶ decode ──job or poison──▶ lanes ──one per key──▶ execute
       ▲                                                                 │
       │ pause/resume (flow)                                     outcome + retry.decide
       │                                                                 │
    commit ◀── offsets (contiguous watermark) ◀── settle ◀── dead_letter (acked) / done

- `source`      the only poller of the Kafka consumer; never waits for handlers
- `decode`      bytes to a typed job or a poison record; never raises into the loop
- `lanes`       same key one at a time in offset order, different keys concurrently
- `ready`       who gets a freed slot: the key with the most work left, none overtaken forever
- `flow`        in-flight accounting per partition: pause one over its share, resume it lower
- `execute`     async handlers on the loop, sync ones in a bounded thread pool, time limits
- `carrier`     async attempts share a task until one suspends, which keeps it
- `retry`       the policy as data and the pure `decide`
- `dead_letter` the headers a dead-lettered record carries; `sink` produces them
- `dead_lettering` the write, finished only once acknowledged; retried while the topic fails
- `offsets`     the committable watermark and the finished-above set in commit metadata
- `commit`      what to commit and when (interval, revoke, shutdown)
- `engine`      ties the stages together for every record; `runner` owns the loop
"""
