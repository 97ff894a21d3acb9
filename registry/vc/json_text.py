"""JSON text from outside the registry, read one way everywhere it enters: request bodies, files
given to the command line, documents submitted or pasted for verification, claims of a VC-JWT.

Strict RFC 8259 plus the limits every reader after it relies on:
- nesting is bounded (MAX_NESTING): decoders and JSON-LD processing recurse, and 5,000 levels
  exhaust Python's stack before any rule of the registry is asked;
- names are unique within an object: a duplicate is read as the first value by some parsers and the
  last by others, so what a signature covers would not be what a reader is shown;
- numbers are finite and of a sane length: `1e999` is no number JSON can carry between systems, and
  integers of more than MAX_DIGITS digits are refused before Python converts them;
- NaN and Infinity, which Python's parser accepts, are not JSON;
- strings are Unicode text: an escaped lone surrogate (\\ud800 without its pair), which Python's
  parser accepts, cannot be written as UTF-8, so a document holding one fails where it is stored.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from registry.vc.errors import DocumentError

MAX_NESTING = 64
MAX_DIGITS = 30  # enough for any integer or decimal a credential carries; far below Python's limit

# The structural tokens of JSON text: strings are matched whole (escapes included), so brackets
# inside them do not count.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JsonTextError(DocumentError):
    """The text is not JSON the registry reads. The message says where and why."""


def too_deep(text: str | bytes) -> bool:
    """Whether the text nests arrays and objects more than MAX_NESTING levels, counting brackets
    outside strings. Cheap for ordinary text: it is scanned only when it has that many brackets,
    and then only its tokens are visited."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= MAX_NESTING:
        return False
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE = "a string holds a lone surrogate (\\ud800-\\udfff without its pair), which is no Unicode text"


def lone_surrogate(text: str | bytes, value: Any) -> bool:
    """Whether a value parsed from `text` holds a lone surrogate in a name or string (a pair is
    read as one character). The value is walked only when the text escapes a surrogate at all."""
    if isinstance(text, str) and _SURROGATE.search(text):  # not even escaped
        return True
    data = text.encode("utf-8") if isinstance(text, str) else text
    if not _SURROGATE_ESCAPE.search(data):
        return False
    stack = [value]
    while stack:  # not recursive: a caller's parser may allow deeper nesting than Python's stack
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise JsonTextError(f"the name {name!r} appears twice in one object")
        result[name] = value
    return result


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonTextError(f"the number {text[:40]} is out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise JsonTextError(f"a number of {len(text.lstrip('-'))} digits is longer than {MAX_DIGITS} digits")
    return int(text)


def _constant(name: str) -> float:
    raise JsonTextError(f"{name} is not a JSON value")


def loads(text: str | bytes) -> Any:
    """The value of the JSON text, or JsonTextError saying what is wrong with it."""
    if isinstance(text, str) and _SURROGATE.search(text):  # a command line's undecodable bytes
        raise JsonTextError(_LONE)
    if too_deep(text):
        raise JsonTextError(f"nested more than {MAX_NESTING} levels deep")
    try:
        value = json.loads(text, object_pairs_hook=_unique, parse_float=_float, parse_int=_int,
                           parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JsonTextError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise JsonTextError("not UTF-8 text") from None
    except RecursionError:  # defence in depth: nesting() bounds this already
        raise JsonTextError(f"nested more than {MAX_NESTING} levels deep") from None
    if lone_surrogate(text, value):
        raise JsonTextError(_LONE)
    return value


def check(text: str | bytes) -> None:
    """Refuse text `loads` would refuse (for a caller whose own decoder reads it afterwards)."""
    loads(text)


__all__ = ["MAX_NESTING", "JsonTextError", "check", "lone_surrogate", "loads", "too_deep"]
