"""`python -m tests.support.publish_emails N`: publish N sample emails as the environment says.

A publisher process of its own, so a test can capture everything it prints.
"""

import sys

from keel.producers import Publisher
from tests.support.sample import email


def main(count: int) -> None:
    with Publisher() as publisher:
        for seq in range(count):
            publisher.publish(*email(seq, seq))
    print(f"published {count}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
