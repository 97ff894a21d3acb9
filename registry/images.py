"""The image store: achievement and organisation images, content-addressed by SHA-256, in the
registry's own database beside the event store (like `http_cache`, not a projection: images are
not events, and a rebuild must not lose them). This module is the one owner of the `images` table.

Append-only like the log: an image, once stored, is never changed or removed (the database refuses
UPDATE and DELETE), so `/images/<sha256>.<ext>` may be cached forever. Storing the same bytes twice
is one row. What may be stored is decided before (registry.vc.images.check)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from registry.store import Database
from registry.vc.images import MEDIA_TYPES, ImageInfo

TABLES = ("images",)
REFUSAL = "images are append-only"


def ddl(kind: str) -> list[str]:
    blob = "BYTEA" if kind == "postgres" else "BLOB"
    table = ("CREATE TABLE IF NOT EXISTS images (sha256 TEXT PRIMARY KEY, extension TEXT NOT NULL,"
             f" width INTEGER NULL, height INTEGER NULL, bytes {blob} NOT NULL, added_at TEXT NOT NULL,"
             " added_by TEXT NOT NULL)")
    if kind != "postgres":
        return [table, *(f"CREATE TRIGGER IF NOT EXISTS images_no_{op.lower()} BEFORE {op} ON images "
                         f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END" for op in ("UPDATE", "DELETE"))]
    # The guard function lives where CREATE FUNCTION puts it: the connection's current schema
    # (REGISTRY_DATABASE_URL's ?schema=), which is where to look for it.
    return [
        table,
        "DO $guard$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = current_schema() AND p.proname = 'images_refuse_change') THEN"
        " CREATE FUNCTION images_refuse_change() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$BEGIN RAISE EXCEPTION USING MESSAGE = '{REFUSAL}: ' || TG_OP || ' refused'; END$$; END IF; END$guard$",
        "DO $guard$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'images_no_change'"
        " AND tgrelid = 'images'::regclass) THEN CREATE TRIGGER images_no_change BEFORE UPDATE OR DELETE"
        " ON images FOR EACH ROW EXECUTE FUNCTION images_refuse_change(); END IF; END$guard$",
    ]


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    extension: str  # "png" or "svg"
    width: int | None
    height: int | None
    data: bytes

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]


class ImageStore:
    def __init__(self, db: Database, *, create_table: bool = True) -> None:
        self.db = db
        if create_table:
            with db.transaction() as cursor:
                for statement in ddl(db.kind):
                    cursor.execute(statement)

    def add(self, info: ImageInfo, data: bytes, added_by: str) -> bool:
        """Store checked bytes; False when they were stored before (nothing changes then)."""
        if self.get(info.sha256) is not None:
            return False
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO images (sha256, extension, width, height, bytes, added_at, added_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                (info.sha256, info.extension, info.width, info.height, data,
                 datetime.now(timezone.utc).isoformat(timespec="seconds"), added_by))
        return True

    def get(self, sha256: str) -> StoredImage | None:
        rows = self.db.query("SELECT sha256, extension, width, height, bytes FROM images WHERE sha256 = ?",
                             (sha256,))
        if not rows:
            return None
        sha, extension, width, height, data = rows[0]
        return StoredImage(sha, extension, width, height, bytes(data))

    def close(self) -> None:
        self.db.close()
