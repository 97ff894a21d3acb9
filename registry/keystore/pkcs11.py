"""Key custody in a PKCS#11 token (an HSM; SoftHSM2 in the tests): Ed25519 keys are generated inside
the token and never leave it. They are marked sensitive and not extractable, so the token refuses to
hand out their private value to anyone, this process included. The registry sees public keys (the
token's CKA_EC_POINT), signatures (CKM_EDDSA) and keyed hashes (CKM_SHA256_HMAC with a generic
secret that also lives in the token).

Every API host opens the same token, so a key one host generates (a rotation, a new organisation) is
usable by every other host at once: each lookup asks the token, not a copy made at start-up.

A key's CKA_LABEL is its public key as a Multikey (z6Mk...), which is how the registry names it; the
recipient-reference secret is labelled RECIPIENT_LABEL. The PIN comes from the settings
(REGISTRY_PKCS11_PIN or a 0600 REGISTRY_PKCS11_PIN_FILE) and is never logged or shown."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

from registry.commands.custody import CustodyError
from registry.vc.multikey import decode_public_key, encode_public_key

RECIPIENT_LABEL = "badge-registry recipient reference"
ED25519_OID = "1.3.101.112"  # RFC 8410 id-Ed25519, as CKA_EC_PARAMS names the curve


class Pkcs11Custody:
    def __init__(self, module: str, token_label: str, pin: str) -> None:
        try:
            import pkcs11
            from pkcs11 import exceptions as pkcs11_errors
        except ImportError:
            raise CustodyError("PKCS#11 custody needs python-pkcs11 (pip install 'badge-registry[hsm]')") from None
        self._pkcs11 = pkcs11
        self._errors = pkcs11_errors
        if not Path(module).is_file():
            raise CustodyError(f"the PKCS#11 module {module} does not exist")
        self.token_label = token_label
        self._key = (str(Path(module).resolve()), token_label)
        self._shared = _open(self._key, pin, pkcs11, pkcs11_errors)
        self._session, self._lock = self._shared.session, self._shared.lock
        self._closed = False
        # Handles of keys found: a key is never deleted from the token, so a handle, once found,
        # stays good for the session. What was not found is asked again (another host may make it).
        self._found: dict[str, object] = {}
        self._recipient_key = self._recipient_secret()

    def __repr__(self) -> str:  # never the PIN
        return f"Pkcs11Custody(token={self.token_label!r})"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _release(self._key)

    # --- KeyCustody ------------------------------------------------------------------------------

    def generate(self) -> str:
        """A new Ed25519 key pair made inside the token; its public key as a Multikey."""
        from pkcs11 import Attribute, KeyType, Mechanism
        from pkcs11.util.ec import encode_named_curve_parameters

        marker = secrets.token_bytes(16)
        with self._lock:
            public, private = self._session.generate_keypair(
                KeyType.EC_EDWARDS, store=True, id=marker, mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                public_template={Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID),
                                 Attribute.TOKEN: True, Attribute.VERIFY: True, Attribute.PRIVATE: False},
                private_template={Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SIGN: True,
                                  Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False})
            multibase = encode_public_key(_raw_point(public[Attribute.EC_POINT]))
            public[Attribute.LABEL] = multibase
            private[Attribute.LABEL] = multibase
        return multibase

    def holds(self, public_key_multibase: str) -> bool:
        return self._private(public_key_multibase) is not None

    def signer(self, public_key_multibase: str, verification_method: str) -> TokenSigner:
        key = self._private(public_key_multibase)
        if key is None:  # fail now, not halfway through a use case
            raise CustodyError(f"the PKCS#11 token {self.token_label!r} holds no private key {public_key_multibase}")
        return TokenSigner(self, key, verification_method)

    def recipient_reference(self, identity: str) -> str:
        from pkcs11 import Mechanism

        with self._lock:
            digest = self._recipient_key.sign(identity.strip().lower().encode(), mechanism=Mechanism.SHA256_HMAC)
        return f"email-hmac:{bytes(digest).hex()}"

    # --- the token -------------------------------------------------------------------------------

    def _private(self, public_key_multibase: str):
        from pkcs11 import Attribute, ObjectClass

        cached = self._found.get(public_key_multibase)
        if cached is not None:
            return cached
        decode_public_key(public_key_multibase)  # a Multikey, nothing else, as a label to look up
        with self._lock:
            found = list(self._session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                                    Attribute.LABEL: public_key_multibase}))
        if found:
            self._found[public_key_multibase] = found[0]
        return found[0] if found else None

    def _recipient_secret(self):
        """The token's secret for recipient references, made the first time any host opens it."""
        from pkcs11 import Attribute, KeyType, ObjectClass

        with self._lock:
            found = list(self._session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY,
                                                    Attribute.LABEL: RECIPIENT_LABEL}))
            if found:
                return found[0]
            return self._session.generate_key(
                KeyType.GENERIC_SECRET, 256, label=RECIPIENT_LABEL, store=True,
                template={Attribute.SIGN: True, Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                          Attribute.PRIVATE: True, Attribute.TOKEN: True})

    def _sign(self, key, data: bytes) -> bytes:
        from pkcs11 import Mechanism

        with self._lock:
            return bytes(key.sign(data, mechanism=Mechanism.EDDSA))


class _Shared:
    """One logged-in session per token and process. PKCS#11 keeps the login per application, not
    per session: a second login fails, and closing the session that logged in logs every other
    session out. So every custody of this process on that token shares this one, and the last to
    close it closes it. A PKCS#11 session is for one operation at a time: hence the lock."""

    def __init__(self, session) -> None:
        self.session = session
        self.lock = threading.Lock()
        self.users = 0


_OPEN: dict[tuple[str, str], _Shared] = {}
_OPEN_LOCK = threading.Lock()


def _open(key: tuple[str, str], pin: str, pkcs11, errors) -> _Shared:
    module, token_label = key
    with _OPEN_LOCK:
        shared = _OPEN.get(key)
        if shared is None:
            try:
                token = pkcs11.lib(module).get_token(token_label=token_label)
                session = token.open(user_pin=pin, rw=True)
            except pkcs11.NoSuchToken:
                raise CustodyError(f"the PKCS#11 module has no token labelled {token_label!r}") from None
            except errors.PinIncorrect:
                raise CustodyError(f"the PIN of PKCS#11 token {token_label!r} is wrong") from None
            except (errors.PKCS11Error, RuntimeError) as exc:
                raise CustodyError(f"the PKCS#11 token {token_label!r} cannot be opened ({type(exc).__name__})") from None
            shared = _OPEN[key] = _Shared(session)
        shared.users += 1
        return shared


def _release(key: tuple[str, str]) -> None:
    with _OPEN_LOCK:
        shared = _OPEN.get(key)
        if shared is None:
            return
        shared.users -= 1
        if shared.users == 0:
            del _OPEN[key]
            with shared.lock:
                shared.session.close()


class TokenSigner:
    """Signs as a verification method with a key that stays in the token."""

    def __init__(self, custody: Pkcs11Custody, key, verification_method: str) -> None:
        self._custody = custody
        self._key = key
        self.verification_method = verification_method

    def sign(self, data: bytes) -> bytes:
        return self._custody._sign(self._key, data)


def _raw_point(point: bytes) -> bytes:
    """The 32-byte Ed25519 public key from CKA_EC_POINT (a DER OCTET STRING, or raw in some tokens)."""
    point = bytes(point)
    if len(point) == 34 and point[0] == 0x04 and point[1] == 32:
        return point[2:]
    if len(point) == 32:
        return point
    raise CustodyError(f"the token returned an Ed25519 public key of {len(point)} bytes")


def read_pin(pin: str | None, pin_file: str | None) -> str:
    """The PIN from the settings: given, or read from a file only its owner may read (0600)."""
    if pin:
        return pin
    if not pin_file:
        raise CustodyError("PKCS#11 custody needs REGISTRY_PKCS11_PIN or REGISTRY_PKCS11_PIN_FILE")
    path = Path(pin_file)
    if not path.is_file():
        raise CustodyError(f"the PIN file {pin_file} does not exist")
    if path.stat().st_mode & 0o077:
        raise CustodyError(f"the PIN file {pin_file} may be read by others: chmod 600 it")
    return path.read_text(encoding="utf-8").strip()
