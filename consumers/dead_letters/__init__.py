"""Dead letters: records set aside, what they carry, and how they come back.

    headers     what a dead-lettered record carries (names in `keel.schemas.headers`)
    writer      the write, finished only once acknowledged; retried while the topic fails
    sink        the seam the writer produces through; `kafka_sink` is its Kafka producer
    reader      a dead-letter topic as a stream of `Letter`s, in bounded memory; one by id
    ledger      which letters were replayed already (`T.dlt.replays`)
    replay      replaying letters to their origin, once: `Replayer`, `replay`
    api         list, show and replay as Python calls
    cli         `keel dlt list|show|replay`

The writer works on the pipeline's per-record state; the engine knows it only through its
`DeadLetters` protocol, so this package imports the pipeline and never the reverse.
"""
