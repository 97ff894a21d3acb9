"""W3C Bitstring Status List v1.0: the encoded list, the (unsigned) BitstringStatusListCredential,
the BitstringStatusListEntry a credential carries, and the check of one entry against a list.

Bit i is the i-th bit counted from the left-most (most significant) bit of the first byte. The list
is gzip-compressed and written as multibase base64url without padding ('u' prefix). The gzip member
is the one Digital Bazaar's reference (pako) writes: deflate level 6, mtime 0, no name, OS byte 3
(Unix). Python's gzip module writes OS byte 255, so the header is built here to match byte for byte."""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping

import msgspec

from registry.vc import contexts, proofs

MIN_ENTRIES = 131_072  # the spec's minimum size: 16 KiB, for herd privacy
REVOCATION = "revocation"
SUSPENSION = "suspension"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"
ENTRY_TYPE = "BitstringStatusListEntry"

_GZIP_HEADER = struct.pack("<BBBBLBB", 0x1F, 0x8B, 8, 0, 0, 0, 3)  # deflate, no flags, mtime 0, OS Unix
_MAX_LIST_BYTES = 16 * 1024 * 1024  # a decompressed list larger than this is refused (zip bombs)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_INDEX = re.compile(r"0|[1-9][0-9]*")


class StatusUnavailable(Exception):
    """The status cannot be established now (the list's signing key could not be had)."""


class StatusListError(ValueError):
    """An encoded list, list credential or entry that cannot be used, with the reason."""


# --- the bitstring -------------------------------------------------------------------------------


def bitstring(set_indexes: Iterable[int], size: int = MIN_ENTRIES) -> bytearray:
    """`size` bits (a multiple of 8), with the given indexes set."""
    if size <= 0 or size % 8:
        raise StatusListError(f"a status list has a positive number of entries divisible by 8, not {size}")
    bits = bytearray(size // 8)
    for index in set_indexes:
        if not 0 <= index < size:
            raise StatusListError(f"index {index} is outside a list of {size} entries")
        bits[index >> 3] |= 0x80 >> (index & 7)
    return bits


def compress(bits: bytes) -> bytes:
    """The gzip member the JavaScript reference writes for these bytes."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS, 8, zlib.Z_DEFAULT_STRATEGY)
    body = deflate.compress(bytes(bits)) + deflate.flush()
    trailer = struct.pack("<LL", zlib.crc32(bits) & 0xFFFFFFFF, len(bits) & 0xFFFFFFFF)
    return _GZIP_HEADER + body + trailer


def encode(set_indexes: Iterable[int], size: int = MIN_ENTRIES) -> str:
    """The `encodedList` of a list of `size` entries in which exactly `set_indexes` are set."""
    compressed = compress(bitstring(set_indexes, size))
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode(encoded: object, min_entries: int = MIN_ENTRIES) -> bytes:
    """The bitstring of an `encodedList`; StatusListError says precisely what is wrong with it."""
    if not isinstance(encoded, str):
        raise StatusListError(f"encodedList must be a string, got {type(encoded).__name__}")
    if not encoded.startswith("u"):
        raise StatusListError(
            f"encodedList must be multibase base64url (prefix 'u'), got prefix {encoded[:1]!r}")
    text = encoded[1:]
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise StatusListError("encodedList is not base64url without padding after the 'u' prefix")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StatusListError(f"encodedList is not valid base64url: {exc}") from None
    if compressed[:2] != b"\x1f\x8b":
        raise StatusListError("encodedList is not gzip-compressed (no gzip magic bytes)")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        bits = inflater.decompress(compressed, _MAX_LIST_BYTES)
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not valid gzip: {exc}") from None
    if inflater.unconsumed_tail:
        raise StatusListError(f"encodedList decompresses to more than {_MAX_LIST_BYTES} bytes")
    if not inflater.eof:
        raise StatusListError("encodedList is truncated gzip (the stream does not end)")
    if len(bits) * 8 < min_entries:
        raise StatusListError(
            f"the status list has {len(bits) * 8} entries; at least {min_entries} are required")
    return bits


def is_set(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bits) * 8} entries")
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def set_indexes(bits: bytes) -> set[int]:
    """Every set index (the inverse of `bitstring`)."""
    found = set()
    for byte_index, byte in enumerate(bits):
        if byte:
            base = byte_index << 3
            found.update(base + bit for bit in range(8) if byte & (0x80 >> bit))
    return found


# --- documents -----------------------------------------------------------------------------------


def entry(list_url: str, index: int, purpose: str = REVOCATION) -> dict:
    """The `credentialStatus` of a credential at `index` of the list credential at `list_url`."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(list_url: str, issuer: str, encoded_list: str, *, valid_from: str,
                           purpose: str = REVOCATION) -> dict:
    """An unsigned BitstringStatusListCredential, members in the order of the JavaScript
    reference's createCredential (plus issuer and validFrom, which it leaves to the caller)."""
    return {
        "@context": [contexts.VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "encodedList": encoded_list,
            "statusPurpose": purpose,
        },
    }


# --- checking a credential's entry ---------------------------------------------------------------


class StatusEntry(msgspec.Struct, frozen=True):
    """A credential's one status entry, as read: a W3C Bitstring Status List entry, or a 1EdTech
    Revocation List (OB 3.0's older status method: a list of revoked credential ids at a URL)."""

    kind: str  # ENTRY_TYPE or REVOCATION_LIST_TYPE
    url: str  # the list credential (bitstring) or the revocation list document
    purpose: str = REVOCATION
    index: int = 0
    notes: list[str] = msgspec.field(default_factory=list)  # read, but not as the spec writes it


REVOCATION_LIST_TYPE = "1EdTechRevocationList"


def status_entry(credential: dict) -> StatusEntry | None:
    """The credential's status entry, None when it has none; StatusListError when it is malformed
    or of a kind not understood here."""
    status = credential.get("credentialStatus")
    if status is None:
        return None
    entries = status if isinstance(status, list) else [status]
    if len(entries) != 1 or not isinstance(entries[0], dict):
        raise StatusListError(f"credentialStatus must be exactly one entry (OB 3.0 allows one), found {len(entries)}")
    entry = entries[0]
    if entry.get("type") == REVOCATION_LIST_TYPE:
        url = entry.get("id")
        if not isinstance(url, str) or not url:
            raise StatusListError(f"the {REVOCATION_LIST_TYPE} entry has no id (the list's URL)")
        return StatusEntry(REVOCATION_LIST_TYPE, url)
    if entry.get("type") != ENTRY_TYPE:
        raise StatusListError(f"status entry type {entry.get('type')!r} is not understood here "
                              f"({ENTRY_TYPE} or {REVOCATION_LIST_TYPE})")
    purpose, index, url, notes = _parse_entry(entry)
    return StatusEntry(ENTRY_TYPE, url, purpose, index, notes)


def check_entry(credential: dict, list_credentials: Mapping[str, dict],
                resolve_key: Callable[[str], bytes | None], notes: list[str] | None = None) -> tuple[bool, str]:
    """(ok, reason) for the credential's BitstringStatusListEntry against the list credential of
    that URL in `list_credentials`: the list's proof (keys from `resolve_key`), issuer, type,
    purpose, size and encoding are checked, then the bit is read. ok is False when the bit is set
    and whenever the status cannot be established. A credential without credentialStatus is ok.
    What was read though not as the spec writes it is added to `notes`."""
    try:
        entry = status_entry(credential)
        if entry is None:
            return True, "the credential has no credentialStatus"
        if entry.kind != ENTRY_TYPE:
            raise StatusListError(f"credentialStatus is a {entry.kind}, not a {ENTRY_TYPE}")
        if notes is not None:
            notes.extend(entry.notes)
        list_credential = list_credentials.get(entry.url)
        if list_credential is None:
            return False, f"status list {entry.url} was not given"
        return check_bitstring(credential, entry, list_credential, resolve_key)
    except (StatusListError, StatusUnavailable) as exc:
        return False, str(exc)


def check_bitstring(credential: dict, entry: StatusEntry, list_credential: object,
                    resolve_key: Callable[[str], bytes | None]) -> tuple[bool, str]:
    """(ok, reason) for one Bitstring Status List entry against its list credential."""
    try:
        bits = _check_list(list_credential, entry.url, entry.purpose, _issuer_id(credential), resolve_key)
    except StatusListError as exc:
        return False, str(exc)
    if entry.index >= len(bits) * 8:
        return False, f"statusListIndex {entry.index} is outside the {len(bits) * 8} entries of {entry.url}"
    if is_set(bits, entry.index):
        return False, f"{entry.purpose}: entry {entry.index} of {entry.url} is set"
    return True, f"not {_past(entry.purpose)}: entry {entry.index} of {entry.url} is clear"


def check_revocation_list(credential: dict, entry: StatusEntry, document: object) -> tuple[bool, str]:
    """(ok, reason) for a 1EdTech Revocation List: the list must be the issuer's, and the
    credential's id must not be among its revoked credentials."""
    if not isinstance(document, dict):
        return False, f"the revocation list {entry.url} is not a JSON object"
    if document.get("id") not in (None, entry.url):
        return False, f"the revocation list at {entry.url} says its id is {document.get('id')!r}"
    issuer = document.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer != _issuer_id(credential):
        return False, (f"the revocation list {entry.url} is issued by {issuer!r}, the credential by "
                       f"{_issuer_id(credential)!r}")
    revoked = document.get("revokedCredential", [])
    if not isinstance(revoked, list):
        return False, f"revokedCredential of {entry.url} is not a list"
    wanted = credential.get("id")
    for item in revoked:
        if isinstance(item, dict) and item.get("id") == wanted:
            why = item.get("revocationReason")
            return False, f"revoked: {wanted} is on the revocation list {entry.url}" + (f" ({why})" if why else "")
    return True, f"not revoked: {wanted} is not on the revocation list {entry.url}"


def _past(purpose: str) -> str:
    return {REVOCATION: "revoked", SUSPENSION: "suspended"}.get(purpose, f"flagged for {purpose}")


def _parse_entry(status: dict) -> tuple[str, int, str, list[str]]:
    notes = []
    purpose = status.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise StatusListError("the status entry has no statusPurpose")
    index_value = status.get("statusListIndex")
    if isinstance(index_value, int) and not isinstance(index_value, bool) and index_value >= 0:
        # 1EdTech's own fixtures write a number; the spec says a string of digits.
        notes.append(f"statusListIndex is the number {index_value}, read as the string {str(index_value)!r} "
                     "the spec requires")
        index_value = str(index_value)
    if not isinstance(index_value, str) or not _INDEX.fullmatch(index_value):
        raise StatusListError(f"statusListIndex must be a string of digits, got {index_value!r}")
    url = status.get("statusListCredential")
    if not isinstance(url, str) or not url:
        raise StatusListError("the status entry has no statusListCredential URL")
    if status.get("statusSize", 1) not in (1, "1"):
        raise StatusListError(f"statusSize {status.get('statusSize')!r} is not supported (only 1-bit entries)")
    return purpose, int(index_value), url, notes


def _issuer_id(document: dict) -> object:
    issuer = document.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def _check_list(list_credential: object, url: str, purpose: str, issuer: object,
                resolve_key: Callable[[str], bytes | None]) -> bytes:
    if not isinstance(list_credential, dict):
        raise StatusListError(f"the status list credential for {url} is not a JSON object")
    if list_credential.get("id") != url:
        # Not a spec requirement, but without it the issuer's signature does not say that this list is
        # the one at this URL (a host could serve another of the issuer's lists): the status is not
        # established either way.
        raise StatusUnavailable(f"the status list at {url} names itself {list_credential.get('id')!r}, so it "
                                "is not verifiably the list this credential refers to")
    types = list_credential.get("type")
    if not isinstance(types, list) or LIST_CREDENTIAL_TYPE not in types:
        raise StatusListError(f"{url} is not a {LIST_CREDENTIAL_TYPE} (type {types!r})")
    if _issuer_id(list_credential) != issuer:
        raise StatusListError(
            f"{url} is issued by {_issuer_id(list_credential)!r}, the credential by {issuer!r}")
    try:
        proof = proofs.verify(list_credential, resolve_key)
    except ValueError as exc:  # DocumentError from canonicalization
        raise StatusListError(f"the proof of {url} cannot be checked: {exc}") from None
    if proof.indeterminate:
        raise StatusUnavailable(f"the proof of {url} could not be checked: {proof.reason}")
    if not proof.ok:
        raise StatusListError(f"the proof of {url} does not verify: {proof.reason}")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != LIST_TYPE:
        raise StatusListError(f"the credentialSubject of {url} is not a {LIST_TYPE}")
    listed = subject.get("statusPurpose")
    if purpose not in (listed if isinstance(listed, list) else [listed]):
        raise StatusListError(
            f"{url} lists {listed!r}, the entry's purpose is {purpose!r}")
    try:
        return decode(subject.get("encodedList"))
    except StatusListError as exc:
        raise StatusListError(f"{url}: {exc}") from None
