"""Ladders: an achievement whose result is a level picked by score (SoftSkills4EU: Sufficient 60-70,
Good 71-84, Excellent 85+), described the Open Badges 3.0 way, in the achievement's own document:

    "resultDescription": [{
        "id": "<achievement url>#score", "type": ["ResultDescription"], "name": "Assessment score",
        "resultType": "Percent", "valueMin": "0", "valueMax": "100",
        "rubricCriterionLevel": [
            {"id": "<achievement url>#sufficient", "type": ["RubricCriterionLevel"], "name": "Sufficient", "points": "60"},
            {"id": "<achievement url>#good", "type": ["RubricCriterionLevel"], "name": "Good", "points": "71"},
            {"id": "<achievement url>#excellent", "type": ["RubricCriterionLevel"], "name": "Excellent", "points": "85"}]}]

A level's `points` is the lowest score of its band; the band runs up to the next level's points
(exclusive), the top one up to `valueMax`. A score below the lowest band earns no level and is refused.
The awarded credential's Result names both: `resultDescription` (that id), `achievedLevel` (the
level's id) and `value` (the score).

Pure functions over the JSON document: no storage, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from registry.domain.errors import DomainError

RESULT_DESCRIPTION = "ResultDescription"
LEVEL = "RubricCriterionLevel"


@dataclass(frozen=True)
class Level:
    id: str
    name: str
    points: Decimal  # the lowest score of the band
    rank: int  # 0 for the lowest level


@dataclass(frozen=True)
class Ladder:
    result_description: str  # its id
    name: str
    value_min: Decimal | None
    value_max: Decimal | None
    levels: tuple[Level, ...]  # lowest first

    def level_for(self, score: str) -> Level:
        """The level a score reaches: the highest whose points it meets."""
        value = number(score, "the score")
        if self.value_min is not None and value < self.value_min:
            raise DomainError(f"score {score} is below this ladder's minimum {self.value_min}")
        if self.value_max is not None and value > self.value_max:
            raise DomainError(f"score {score} is above this ladder's maximum {self.value_max}")
        reached = [level for level in self.levels if value >= level.points]
        if not reached:
            lowest = self.levels[0]
            raise DomainError(f"score {score} reaches no level: the lowest, {lowest.name}, starts at {lowest.points}")
        return reached[-1]

    def level(self, ref: str) -> Level:
        """A level by id or by name (case-insensitive)."""
        for level in self.levels:
            if ref == level.id or ref.casefold() == level.name.casefold():
                return level
        names = ", ".join(level.name for level in self.levels)
        raise DomainError(f"no level {ref!r} in {self.name}: its levels are {names}")

    def band(self, level: Level) -> tuple[Decimal, Decimal | None]:
        """(lowest, highest) score of a level's band; highest None: open-ended."""
        above = [other.points for other in self.levels if other.rank == level.rank + 1]
        return level.points, above[0] if above else self.value_max

    def rank_of(self, level_id: str | None) -> int | None:
        for level in self.levels:
            if level.id == level_id:
                return level.rank
        return None


def number(text: object, what: str) -> Decimal:
    """A decimal number given as text (OB keeps scores and points as strings)."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise DomainError(f"{what} must be a number given as text, got {text!r}")
    try:
        value = Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise DomainError(f"{what} must be a number, got {text!r}") from None
    if not value.is_finite() or abs(value) > Decimal(10) ** 9:
        raise DomainError(f"{what} must be a finite number of at most 10^9, got {text!r}")
    return value


def ladder_of(document: dict) -> Ladder | None:
    """The achievement's ladder: its first ResultDescription whose levels carry points."""
    for description in document.get("resultDescription") or ():
        if not isinstance(description, dict):
            continue
        levels = [level for level in description.get("rubricCriterionLevel") or ()
                  if isinstance(level, dict) and "points" in level]
        if not levels:
            continue
        ordered = sorted(levels, key=lambda level: number(level["points"], f"level {level.get('name')!r} points"))
        return Ladder(
            result_description=description.get("id", ""), name=description.get("name", ""),
            value_min=None if description.get("valueMin") is None else number(description["valueMin"], "valueMin"),
            value_max=None if description.get("valueMax") is None else number(description["valueMax"], "valueMax"),
            levels=tuple(Level(level.get("id", ""), level.get("name", ""), number(level["points"], "points"), rank)
                         for rank, level in enumerate(ordered)))
    return None


def complete_result_descriptions(document: dict, achievement_url: str) -> None:
    """Give the achievement's ResultDescriptions and their levels the ids and types OB requires,
    where the definition left them out (ids are fragments of the achievement's URL, so results in
    credentials can refer to them), and check every ladder: numeric points, distinct, inside the
    value range, distinct level names."""
    descriptions = document.get("resultDescription")
    if descriptions is None:
        return
    if not isinstance(descriptions, list) or not all(isinstance(d, dict) for d in descriptions):
        raise DomainError("resultDescription must be a list of objects")
    used: set[str] = set()

    def fresh(base: str) -> str:
        candidate, n = f"{achievement_url}#{_fragment(base)}", 2
        while candidate in used:
            candidate, n = f"{achievement_url}#{_fragment(base)}-{n}", n + 1
        used.add(candidate)
        return candidate

    for description in descriptions:
        if isinstance(description.get("id"), str):
            used.add(description["id"])
        for level in description.get("rubricCriterionLevel") or ():
            if isinstance(level, dict) and isinstance(level.get("id"), str):
                used.add(level["id"])
    for description in descriptions:
        description.setdefault("type", [RESULT_DESCRIPTION])
        if not isinstance(description.get("name"), str) or not description["name"].strip():
            raise DomainError("each resultDescription needs a name")
        description.setdefault("resultType", "RubricCriterionLevel")
        description.setdefault("id", fresh(description["name"]))
        levels = description.get("rubricCriterionLevel")
        if levels is None:
            continue
        if not isinstance(levels, list) or not levels or not all(isinstance(x, dict) for x in levels):
            raise DomainError(f"{description['name']}: rubricCriterionLevel must be a non-empty list of objects")
        names = [level.get("name") for level in levels]
        if not all(isinstance(n, str) and n.strip() for n in names):
            raise DomainError(f"{description['name']}: each level needs a name")
        if len({n.casefold() for n in names}) != len(names):
            raise DomainError(f"{description['name']}: level names must differ")
        for level in levels:
            level.setdefault("type", [LEVEL])
            level.setdefault("id", fresh(level["name"]))
    for description in descriptions:
        if not any("points" in level for level in description.get("rubricCriterionLevel") or ()):
            continue
        if not all("points" in level for level in description["rubricCriterionLevel"]):
            raise DomainError(f"{description['name']}: either every level gives its lowest score (points) or none")
        ladder = ladder_of({"resultDescription": [description]})
        points = [level.points for level in ladder.levels]
        if len(set(points)) != len(points):
            raise DomainError(f"{description['name']}: two levels start at the same score")
        if ladder.value_min is not None and points[0] < ladder.value_min:
            raise DomainError(f"{description['name']}: level {ladder.levels[0].name} starts below valueMin")
        if ladder.value_max is not None and points[-1] > ladder.value_max:
            raise DomainError(f"{description['name']}: level {ladder.levels[-1].name} starts above valueMax")
        for level in description["rubricCriterionLevel"]:
            level["points"] = str(level["points"])  # OB: points is a string


def _fragment(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "level"
