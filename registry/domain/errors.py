"""Domain errors: a rule of the registry was broken. Messages are shown to users as they are."""


class DomainError(Exception):
    """A command was refused because it would break a rule of the registry."""


class NotFound(DomainError):
    """The thing a command names does not exist."""


class AlreadyExists(DomainError):
    """Something with that identity was already recorded."""


class InvalidTransition(DomainError):
    """The command is not allowed in the current state (a revoked credential cannot be reinstated, ...)."""


class NotAuthorised(DomainError):
    """The actor may not do this (only an organisation may sign as itself)."""
