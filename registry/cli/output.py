"""What the command functions share: who acts (the operator at this terminal), reading files given
on the command line, and printing answers (text, or JSON with --json)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from registry.commands import MAX_DOCUMENT_BYTES, Actor, Written
from registry.errors import InputError
from registry.vc import json_text
from registry.vc.errors import DocumentError
from registry.vc.openbadges import parse_datetimez


def actor() -> Actor:
    """The command line is the registry's operator; events record the login name."""
    try:
        return Actor(f"cli:{getpass.getuser()}")
    except Exception:  # no login name in a container: still say it came from the CLI
        return Actor("cli")


def emit(args, text: str, data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str) if args.json else text)


def read_text(path: str, limit: int = MAX_DOCUMENT_BYTES) -> str:
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "no such file")
    if file.stat().st_size > limit:
        raise InputError(path, f"larger than {limit} bytes")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None


def read_json(path: str, limit: int = MAX_DOCUMENT_BYTES) -> object:
    return parse_json(read_text(path, limit), path)


def parse_json(text: str, path: str) -> object:
    try:
        return json_text.loads(text)
    except json_text.JsonTextError as exc:
        raise DocumentError(f"{path}: {exc}") from None


def written(args, result: Written, out: str | None = None) -> int:
    if out and result.document is not None:
        Path(out).write_text(json.dumps(result.document, ensure_ascii=False, indent=2) + "\n")
    data = {"id": result.id, "position": result.position}
    if result.document is not None:
        data["document"] = result.document
    if result.also_awarded:
        data["also_awarded"] = result.also_awarded
    emit(args, result.id, data)
    return 0


def instant(args, option: str = "at"):
    """An ISO 8601 instant with offset from --<option>, or None."""
    value = getattr(args, option.replace("-", "_"))
    return None if value is None else parse_datetimez(value, f"--{option}")


AT_HELP = "answer as of this instant: ISO 8601 with offset, e.g. 2026-05-01T12:00:00Z (default now)"
