"""The pages' languages: one dictionary per language (texts_en.py, texts_nl.py; no gettext
toolchain), the choice of language (?lang=, else Accept-Language, else English), and the formats
of dates, months and numbers per language."""

from __future__ import annotations

from datetime import datetime, timezone

from registry.api.pages.texts_en import EN
from registry.api.pages.texts_nl import NL

LANGUAGES = ("en", "nl")
DEFAULT = "en"

TEXTS = {"en": EN, "nl": NL}

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
}


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """?lang= wins when it names a language we have; then the browser's Accept-Language
    preferences by q-value; then English."""
    if asked in TEXTS:
        return asked
    preferences: list[tuple[float, int, str]] = []
    for order, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in TEXTS and quality > 0:
            preferences.append((-quality, order, primary))
    return min(preferences)[2] if preferences else DEFAULT


class Translator:
    """`t("key", name=...)` in templates and code; a missing key is an error, never a blank."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.texts = TEXTS[language]

    def __call__(self, key: str, **values: object) -> str:
        text = self.texts[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.texts

    def month(self, year_month: str) -> str:
        """'2026-05' -> 'May 2026' / 'mei 2026'."""
        year, _, month = year_month.partition("-")
        return f"{MONTHS[self.language][int(month) - 1]} {year}"

    def number(self, n: int) -> str:
        grouped = f"{n:,}"
        return grouped.replace(",", ".") if self.language == "nl" else grouped

    @staticmethod
    def when(value: str | datetime | None) -> str:
        """A logged instant as a person reads it: 2026-05-01 12:00 UTC (seconds are noise here)."""
        if value is None:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    @staticmethod
    def iso(value: str | datetime | None) -> str:
        """For <time datetime="...">."""
        if value is None:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
