import itertools
from collections import Counter

import pytest

from keel.load.keys import Skew, key_stream


def _take(skew: Skew, keys: int, count: int = 20_000, seed: int = 7) -> Counter[str]:
    return Counter(itertools.islice(key_stream(skew, keys, seed), count))


def test_uniform_spreads_over_every_key() -> None:
    counts = _take(Skew.UNIFORM, 100)

    assert len(counts) == 100
    assert max(counts.values()) < 3 * min(counts.values())


def test_zipf_favours_the_first_keys() -> None:
    counts = _take(Skew.ZIPF, 1000)

    assert counts["k0"] > 5 * counts["k9"]
    assert counts.most_common(1)[0][0] == "k0"


def test_hot_gives_one_key_its_share() -> None:
    counts = _take(Skew.HOT, 50)

    assert 0.45 < counts["k0"] / 20_000 < 0.55


def test_the_same_seed_gives_the_same_keys() -> None:
    first = list(itertools.islice(key_stream(Skew.ZIPF, 100, seed=3), 500))
    second = list(itertools.islice(key_stream(Skew.ZIPF, 100, seed=3), 500))

    assert first == second


def test_no_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        key_stream(Skew.UNIFORM, 0, seed=1)
