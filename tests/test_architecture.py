"""The shape the code keeps (docs/architecture.md): one owner per concern, checked in the source.

- Only the read side (registry/projections) names the read-model tables in SQL; the edges ask
  `Queries`. Only registry/access names the access tables.
- Only the composition root builds the three objects the edges use.
- Edges do not reach around them: the HTTP API, pages and CLI import no projection table module,
  no event store and no keystore.
- The command line uses no private argparse API and swaps no parser's class."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from registry.access import TABLES as ACCESS_TABLES
from registry.projections import PROJECTIONS

PACKAGE = Path(__file__).resolve().parents[1] / "registry"
READ_TABLES = sorted({t for p in PROJECTIONS for t in p.tables} | {"projection_positions"})


def sources(*exclude: str):
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not any(relative.startswith(e) for e in exclude):
            yield relative, path.read_text(encoding="utf-8")


def strings(text: str) -> list[str]:
    return [node.value for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def sql_naming(tables: list[str], text: str) -> set[str]:
    """The tables that string literals of `text` use in SQL (FROM, JOIN, INTO, UPDATE, TABLE)."""
    pattern = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE(?: IF (?:NOT )?EXISTS)?)\s+(\w+)", re.IGNORECASE)
    found = set()
    for literal in strings(text):
        found |= {name for name in pattern.findall(literal) if name in tables}
    return found


def test_only_the_read_side_names_the_read_model_tables():
    outside = {path: names for path, text in sources("projections/", "bootstrap.py")
               if (names := sql_naming(READ_TABLES, text))}
    assert outside == {}


def test_only_access_names_the_access_tables():
    outside = {path: names for path, text in sources("access/")
               if (names := sql_naming(list(ACCESS_TABLES), text))}
    assert outside == {}


def test_the_checks_find_sql_where_there_is_some():
    # The two tests above must be able to fail: the same check finds the tables where they are used.
    used = set()
    for _, text in sources():
        used |= sql_naming(READ_TABLES, text)
    assert set(READ_TABLES) <= used
    assert sql_naming(list(ACCESS_TABLES), (PACKAGE / "access" / "keys.py").read_text()) == {"api_keys"}


def calls(text: str) -> set[str]:
    """The names of what `text` calls: f() and x.f() as "f", cls.open() as "cls.open"."""
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                found.add(node.func.id)
            elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                found.add(f"{node.func.value.id}.{node.func.attr}")
    return found


def test_only_the_composition_root_builds_what_the_edges_use():
    builders = {"EventStore", "Queries", "Commands", "Access.open", "ReadModel", "Keystore", "open_database"}
    found = {path: sorted(calls(text) & builders) for path, text in sources("bootstrap.py")
             if calls(text) & builders}
    assert found == {}, found
    assert calls((PACKAGE / "bootstrap.py").read_text()) >= builders


def imports(text: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_the_edges_reach_only_the_three_objects():
    table_modules = {f"registry.projections.{m}" for m in
                     ("credentials", "directory", "endorsements", "extension_contexts", "imports", "issuer_keys", "kpis",
                      "trust_anchors", "runner", "read_model", "verification")}
    forbidden = table_modules | {"registry.store.event_store", "registry.keystore", "registry.store.database",
                                 "registry.commands.records"}
    # The CLI's projections group runs a Runner with another batch size: the one allowed reach.
    allowed = {"cli/projections.py": {"registry.projections.Runner"}}
    crossing = {}
    for path, text in sources():
        if not path.startswith(("api/", "cli/")):
            continue
        wrong = {name for name in imports(text)
                 if any(name == f or name.startswith(f + ".") for f in forbidden)} - allowed.get(path, set())
        if wrong:
            crossing[path] = sorted(wrong)
    assert crossing == {}


def test_the_command_line_uses_only_public_argparse():
    for path, text in sources():
        if path.startswith("cli/"):
            assert "_SubParsersAction" not in text and "._actions" not in text, path
            assert "__class__ =" not in text, path


def test_only_the_image_store_names_the_images_table():
    from registry.images import TABLES as IMAGE_TABLES

    outside = {path: names for path, text in sources("images.py", "bootstrap.py")
               if (names := sql_naming(list(IMAGE_TABLES), text))}
    assert outside == {}
    assert sql_naming(list(IMAGE_TABLES), (PACKAGE / "images.py").read_text()) == {"images"}  # it can fail
