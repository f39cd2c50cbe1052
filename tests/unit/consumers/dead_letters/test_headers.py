from keel.consumers.dead_letters.headers import (
    MESSAGE_LIMIT,
    TRACEBACK_LIMIT,
    Failure,
    Origin,
    dead_letter_headers,
    header_map,
)


def failure(**changes: object) -> Failure:
    values: dict[str, object] = {
        "reason": "retries-exhausted",
        "error_class": "builtins.OSError",
        "message": "smtp down",
        "traceback": "Traceback ...\nOSError: smtp down",
        "attempts": 3,
        "first_failure_ms": 1000,
        "last_failure_ms": 5000,
        "job_type": "keel.jobs.SendEmail",
    }
    values.update(changes)
    return Failure(**values)  # type: ignore[arg-type]


ORIGIN = Origin("emails", 2, 17, 999)


def test_headers_say_where_from_who_failed_it_and_why() -> None:
    headers = header_map(
        dead_letter_headers(ORIGIN, "billing", failure(), [("keel-job-id", b"j1")])
    )
    assert headers == {
        "keel-job-id": "j1",
        "keel-dlt-origin-topic": "emails",
        "keel-dlt-origin-partition": "2",
        "keel-dlt-origin-offset": "17",
        "keel-dlt-origin-timestamp": "999",
        "keel-dlt-group": "billing",
        "keel-dlt-job-type": "keel.jobs.SendEmail",
        "keel-dlt-attempts": "3",
        "keel-dlt-reason": "retries-exhausted",
        "keel-dlt-error-class": "builtins.OSError",
        "keel-dlt-error-message": "smtp down",
        "keel-dlt-traceback": "Traceback ...\nOSError: smtp down",
        "keel-dlt-first-failure": "1000",
        "keel-dlt-last-failure": "5000",
    }


def test_a_record_dead_lettered_again_carries_only_the_latest_failure() -> None:
    first = dead_letter_headers(ORIGIN, "g", failure(reason="old"), None)
    again = dead_letter_headers(ORIGIN, "g", failure(reason="new"), first)
    reasons = [value for name, value in again if name == "keel-dlt-reason"]
    assert reasons == [b"new"]


def test_long_messages_and_tracebacks_are_truncated_keeping_the_useful_end() -> None:
    long = failure(message="m" * 5000, traceback="t" * 9000 + "LAST LINE")
    headers = header_map(dead_letter_headers(ORIGIN, "g", long, None))
    assert len(headers["keel-dlt-error-message"]) == MESSAGE_LIMIT
    assert len(headers["keel-dlt-traceback"]) == TRACEBACK_LIMIT
    assert headers["keel-dlt-traceback"].endswith("LAST LINE")


def test_keyless_unknown_type_leaves_job_type_empty() -> None:
    headers = header_map(dead_letter_headers(ORIGIN, "g", failure(job_type=None), []))
    assert headers["keel-dlt-job-type"] == ""
