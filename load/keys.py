"""Which key each job gets: the skew decides how much per-key ordering limits concurrency."""

import itertools
import random
from collections.abc import Iterator
from enum import StrEnum


class Skew(StrEnum):
    """How job keys are spread over the key space."""

    UNIFORM = "uniform"
    ZIPF = "zipf"
    HOT = "hot"


def key_stream(
    skew: Skew, keys: int, seed: int, zipf_s: float = 1.1, hot_share: float = 0.5
) -> Iterator[str]:
    """An endless stream of key names `k0..k{keys-1}`, reproducible from `seed`.

    zipf: key i is drawn with weight 1/(i+1)^s. hot: `k0` takes `hot_share` of all jobs and
    the rest are uniform over the other keys.
    """
    if keys < 1:
        raise ValueError("at least one key is needed")
    rng = random.Random(seed)
    names = [f"k{i}" for i in range(keys)]
    if skew is Skew.UNIFORM:
        return (names[rng.randrange(keys)] for _ in itertools.count())
    if skew is Skew.ZIPF:
        weights = list(itertools.accumulate(1 / (i + 1) ** zipf_s for i in range(keys)))
        return (rng.choices(names, cum_weights=weights)[0] for _ in itertools.count())
    rest = names[1:] or names
    return (names[0] if rng.random() < hot_share else rng.choice(rest) for _ in itertools.count())
