"""The standards data the tests read lives in the repository (tests/standards/), each file listed in
its README with the SHA-256 of the published copy: a changed, missing or unlisted file fails here."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from conftest import STANDARDS

ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<source>\S+) \| `(?P<sha256>[0-9a-f]{64})` \|$")


def listed() -> dict[str, str]:
    rows = {}
    for line in (STANDARDS / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert match["source"].startswith("https://"), line
            rows[match["file"]] = match["sha256"]
    return rows


def test_every_file_is_listed_with_its_digest_and_matches_it():
    rows = listed()
    present = {p.relative_to(STANDARDS).as_posix() for p in STANDARDS.rglob("*")
               if p.is_file() and p.name != "README.md"}
    assert present == set(rows), (sorted(present - set(rows)), sorted(set(rows) - present))
    changed = [name for name, digest in rows.items()
               if hashlib.sha256((STANDARDS / name).read_bytes()).hexdigest() != digest]
    assert not changed, f"differ from their published digest: {changed}"


def test_the_standards_data_is_inside_the_repository():
    repository = Path(__file__).resolve().parents[1]
    assert STANDARDS.resolve().is_relative_to(repository)
    assert len(listed()) >= 50
