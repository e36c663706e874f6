"""House rules a linter does not know, checked over the source tree (fast: reads files, imports nothing)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python_files(*folders: str):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_race_tests_fan_out_through_the_one_helper():
    # tests/concurrency.run_in_threads releases the threads together and closes their connections;
    # a hand-written copy tends to forget one of the two. The fakes run servers, not races.
    pattern = re.compile(r"threading\.(Thread|Barrier)\(|ThreadPoolExecutor\(")
    offenders = [str(path.relative_to(ROOT)) for path in _python_files("tests")
                 if path.name != "concurrency.py" and "fakes" not in path.parts
                 and path.name != Path(__file__).name and pattern.search(path.read_text())]
    assert offenders == []

