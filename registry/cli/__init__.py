"""The `registry` command. Errors end as one line on stderr and a non-zero exit:
1 when the answer is "invalid", 2 for bad input or usage (and refused commands)."""

from __future__ import annotations

import sys

from registry.cli.parser import UsageError, build


def main(argv: list[str] | None = None) -> int:
    parser = build()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    args.json = getattr(args, "json", False)
    # Imported after parsing so that --help stays fast and works without a store.
    from registry.application import ConflictError
    from registry.bootstrap import open_registry
    from registry.domain import DomainError
    from registry.keystore import KeystoreError
    from registry.projections.store import ReadStoreError
    from registry.store.settings import StoreSettingsError
    from registry.vc.errors import DocumentError

    try:
        if args.command == "demo":
            from registry.demo import run_demo
            return run_demo(open_registry(), as_json=args.json)
        from registry.cli.commands import run
        return run(open_registry(), args)
    except (DomainError, DocumentError, ConflictError, KeystoreError, StoreSettingsError,
            ReadStoreError, ValueError) as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
