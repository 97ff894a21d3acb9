"""What every benchmark writes beside its figures: when and where it ran, as one JSON file."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path


def machine(**extra: object) -> dict:
    """The facts that make figures comparable: platform, CPU count, Python, plus the caller's own."""
    return {"platform": platform.platform(), "cpus": os.cpu_count(),
            "python": platform.python_version(), **extra}


def write_results(path: Path, machine_facts: dict, **sections: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "run_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_facts,
        **sections,
    }, indent=2) + "\n")
