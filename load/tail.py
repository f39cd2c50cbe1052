"""Following the workers' run logs while they grow, for the live timeline: completions only."""

from pathlib import Path

from keel.load.completions import LoggedRun, parse_line


class CompletionTail:
    """The successful runs appended to every `*.log` in a directory since the last call."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._offsets: dict[Path, int] = {}

    def read_new(self) -> list[LoggedRun]:
        found: list[LoggedRun] = []
        for path in sorted(self.directory.glob("*.log")):
            start = self._offsets.get(path, 0)
            with path.open("rb") as log:
                log.seek(start)
                chunk = log.read()
            end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next call
            self._offsets[path] = start + end
            for line in chunk[:end].decode().splitlines():
                parsed = parse_line(line + "\n")
                if parsed is not None and parsed.run.ok:
                    found.append(parsed)
        return found
