"""The `registry` command. Every command is one function in the module of its group
(registry.cli.parser assembles them); `main` opens the registry through the composition root, runs
the command and maps what went wrong to one line on stderr and an exit status:

- 1: the answer is "invalid" or "none" (verify, status, trust path, keys, endorsements);
- 2: bad input or usage, or a command the registry's rules refuse; nothing was stored;
- 75 (EX_TEMPFAIL): the answer cannot be given now (the database is out of reach, or an event it
  depends on was quarantined); try again, or ask the operator;
- 70 (EX_SOFTWARE): a fault of the registry itself; its traceback is logged under a problem id
  in <REGISTRY_HOME>/registry.log, never blamed on the user."""

from __future__ import annotations

import os
import sys
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path

from registry.cli.parser import UsageError, build, expand

INTERNAL_ERROR = 70
UNAVAILABLE = 75


def main(argv: list[str] | None = None) -> int:
    parser = build()
    try:
        args = parser.parse_args(expand(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    args.json = getattr(args, "json", False)
    # Imported after parsing so that --help stays fast and works without a store.
    from registry.access import AccessError
    from registry.bootstrap import open_registry
    from registry.commands import CustodyError
    from registry.domain import DomainError
    from registry.errors import InputError, Unavailable
    from registry.projections import ReadStoreError
    from registry.store import ConflictError, is_outage, missing_privilege, unavailable
    from registry.vc.errors import DocumentError

    registry = None
    try:
        if getattr(args, "standalone", False):  # the auditor: runs against a registry it does not open
            return args.run(None, args)
        registry = open_registry()
        return args.run(registry, args)
    except (DomainError, InputError, DocumentError, ConflictError, AccessError, CustodyError,
            ReadStoreError) as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2
    except Unavailable as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return UNAVAILABLE
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if is_outage(exc):
            print(f"registry: {unavailable(exc)}", file=sys.stderr)
            return UNAVAILABLE
        refused = missing_privilege(exc)
        if refused is not None:
            print(f"registry: the database refused this role ({refused}); this command needs the tables' "
                  "owner: run it with the owner's REGISTRY_DATABASE_URL (deploy/README.md)", file=sys.stderr)
            return 2
        print(f"registry: {internal_error(exc)}", file=sys.stderr)
        return INTERNAL_ERROR
    finally:
        if registry is not None:
            try:
                registry.close()
            except Exception:
                pass


def internal_error(exc: BaseException) -> str:
    """Log the traceback under a new problem id; the one line to show."""
    problem = str(uuid.uuid4())
    path = Path(os.environ.get("REGISTRY_HOME") or "./data").resolve() / "registry.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as log:
            log.write(f"problem {problem} at {datetime.now(timezone.utc).isoformat()}\n")
            log.write("".join(traceback.format_exception(exc)))
        where = f"its traceback is in {path}"
    except OSError as write_error:
        where = f"its traceback could not be written to {path} ({write_error.strerror})"
    return f"internal error {type(exc).__name__} (problem {problem}); {where}"


if __name__ == "__main__":
    sys.exit(main())
