"""The whole event log, in order, as JSON lines: what an auditor needs to re-check history.
Events hold no secrets (private keys never enter them; e-mail recipients are stored hashed)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from registry.application.registry import RegistryCore

PAGE = 1000


class ExportUseCases(RegistryCore):
    def export_events(self, after: int = 0) -> Iterator[dict]:
        start = after + 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=PAGE)
            for notification in page:
                yield {
                    "position": notification.id,
                    "originator_id": str(notification.originator_id),
                    "originator_version": notification.originator_version,
                    "topic": notification.topic,
                    "state": json.loads(notification.state),
                }
            if len(page) < PAGE:
                return
            start = page[-1].id + 1
