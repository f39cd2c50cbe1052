"""Delayed jobs: `publish(job, key=..., delay=...)` or `eta=`, released once at their time.

    timing     due time of a delay or an ETA (and the maximum); the tier of a wait
    records    put_off/postpone (publisher side); Waiting: released or refiled (dispatcher side)
    cancels    the cancel record of a job id, and the set the dispatcher keeps of them
    job_status the `cancelled` status of a tracked job a cancel drops, in the same transaction
    names      the delayed topic's cancels topic, groups and transactional id
    settings   DispatcherSettings (KEEL_DISPATCHER_*)
    loop       run_dispatcher: follow the group on the cancels topic, stand by or lead
    term       one leadership: fence, resume from committed offsets, one transaction per step
    progress   the offsets a term resumes from, asked again while the coordinator is not ready
    pending    `keel jobs pending`: the earliest-due jobs, in bounded memory
    status     what the loop tells the outside: counts, lateness, leading, backlog by tier
    prometheus /metrics from the status (keel_dispatcher_*)
    health     /livez, /readyz and /metrics over HTTP (KEEL_DISPATCHER_HEALTH_PORT)
    cli        `keel dispatcher run`, `keel jobs pending|cancel`

docs/scheduling.md says what is promised and how the tiers keep memory bounded.
"""
