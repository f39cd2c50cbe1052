"""Sequenced demo jobs: a SendEmail per (key, seq), so order can be checked per key."""

import uuid

from keel.schemas.demo import SendEmail


def email(key: int, seq: int) -> tuple[SendEmail, bytes]:
    user = uuid.UUID(int=key + 1)
    job = SendEmail(
        user_id=user, to="ada@example.com", template="t", params={"seq": str(seq), "key": str(key)}
    )
    return job, str(user).encode()


def seq_of(job: SendEmail) -> tuple[str, int]:
    return job.params["key"], int(job.params["seq"])
