"""Errors raised by the standards layer. Each message says precisely what is wrong."""


class DocumentError(ValueError):
    """A document (credential, achievement, DID document) is not acceptable."""


class UnknownContextError(DocumentError):
    """A JSON-LD context is not one of the pinned, digest-checked copies."""


class UndefinedTermError(DocumentError):
    """A term in a document has no definition in its pinned contexts, so a signature would not cover it."""


class ProofError(DocumentError):
    """A proof cannot be created or does not verify."""
