"""The spec: the structured truth of a shapes-world scene, and its JSONL prompts-file format.

One JSON object per line:
`{"prompt": str, "category": str, "objects": [{"shape", "color", "count"=1, "size"?, "position"?}],
  "relations": [[i, "left_of"|"right_of"|"above"|"below", j]]}` where i, j index `objects` (each of count 1).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from openimagen.data.shapes.vocab import (CATEGORIES, COLORS, MAX_COUNT, MAX_GROUPS, MAX_OBJECTS, POSITIONS,
                                          RELATIONS, SHAPES, SIZES)
from openimagen.files import write_text_atomic


class SpecError(ValueError):
    """A spec that breaks the format; the message names where (line) and which field."""


@dataclass(frozen=True)
class ObjectGroup:
    shape: str
    color: str
    count: int = 1
    size: str | None = None          # None: the renderer picks one, the judge does not check it
    position: str | None = None      # None: anywhere

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"shape": self.shape, "color": self.color, "count": self.count}
        if self.size is not None:
            out["size"] = self.size
        if self.position is not None:
            out["position"] = self.position
        return out


@dataclass(frozen=True)
class Spec:
    prompt: str
    category: str
    objects: tuple[ObjectGroup, ...]
    relations: tuple[tuple[int, str, int], ...] = field(default=())

    def __post_init__(self) -> None:
        validate(self)

    @property
    def num_objects(self) -> int:
        return sum(group.count for group in self.objects)

    def to_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "category": self.category,
                "objects": [group.to_dict() for group in self.objects],
                "relations": [list(rel) for rel in self.relations]}

    @classmethod
    def from_dict(cls, data: Any, where: str = "spec") -> "Spec":
        """Parse and validate a decoded JSON object; errors name `where` and the field."""
        if not isinstance(data, dict):
            raise SpecError(f"{where}: expected a JSON object, got {type(data).__name__}")
        unknown = set(data) - {"prompt", "category", "objects", "relations"}
        if unknown:
            raise SpecError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: prompt, category, objects, relations")
        for key in ("prompt", "category", "objects"):
            if key not in data:
                raise SpecError(f"{where}: missing field '{key}'")
        objects = data["objects"]
        if not isinstance(objects, list):
            raise SpecError(f"{where}: field 'objects' must be a list")
        groups = tuple(_parse_group(obj, f"{where}: field 'objects[{k}]'") for k, obj in enumerate(objects))
        relations = data.get("relations", [])
        if not isinstance(relations, list):
            raise SpecError(f"{where}: field 'relations' must be a list")
        rels = tuple(_parse_relation(rel, f"{where}: field 'relations[{k}]'") for k, rel in enumerate(relations))
        try:
            return cls(prompt=data["prompt"], category=data["category"], objects=groups, relations=rels)
        except SpecError as error:
            raise SpecError(f"{where}: {error}") from None


def _parse_group(obj: Any, where: str) -> ObjectGroup:
    if not isinstance(obj, dict):
        raise SpecError(f"{where}: expected an object like {{\"shape\": \"circle\", \"color\": \"red\"}}")
    unknown = set(obj) - {"shape", "color", "count", "size", "position"}
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {sorted(unknown)}")
    for key in ("shape", "color"):
        if key not in obj:
            raise SpecError(f"{where}: missing field '{key}'")
    group = ObjectGroup(obj["shape"], obj["color"], obj.get("count", 1), obj.get("size"), obj.get("position"))
    _check_group(group, where)
    return group


def _parse_relation(rel: Any, where: str) -> tuple[int, str, int]:
    if not (isinstance(rel, list) and len(rel) == 3):
        raise SpecError(f"{where}: expected [i, relation, j], got {rel!r}")
    return (rel[0], rel[1], rel[2])


def _choice(value: Any, allowed: Iterable[str], where: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise SpecError(f"{where}: {value!r} is not one of {list(allowed)}")


def _check_group(group: ObjectGroup, where: str) -> None:
    _choice(group.shape, SHAPES, f"{where}.shape")
    _choice(group.color, COLORS, f"{where}.color")
    if not isinstance(group.count, int) or isinstance(group.count, bool) or not 1 <= group.count <= MAX_COUNT:
        raise SpecError(f"{where}.count: {group.count!r} must be an integer in 1..{MAX_COUNT}")
    if group.size is not None:
        _choice(group.size, SIZES, f"{where}.size")
    if group.position is not None:
        _choice(group.position, POSITIONS, f"{where}.position")


def validate(spec: Spec) -> None:
    """Raise SpecError naming the first field of `spec` that breaks the format."""
    if not isinstance(spec.prompt, str):
        raise SpecError("field 'prompt' must be a string")
    _choice(spec.category, CATEGORIES, "field 'category'")
    if not 1 <= len(spec.objects) <= MAX_GROUPS:
        raise SpecError(f"field 'objects': needs 1..{MAX_GROUPS} object groups, got {len(spec.objects)}")
    for k, group in enumerate(spec.objects):
        _check_group(group, f"field 'objects[{k}]'")
    if spec.num_objects > MAX_OBJECTS:
        raise SpecError(f"field 'objects': {spec.num_objects} objects in total, at most {MAX_OBJECTS} fit legibly")
    keys = [(g.shape, g.color) for g in spec.objects]
    for k, group in enumerate(spec.objects):
        same = [m for m, key in enumerate(keys) if key == keys[k] and m != k]
        if same and (group.size is None or any(spec.objects[m].size in (None, group.size) for m in same)):
            raise SpecError(f"field 'objects[{k}]': groups with the same shape and color must give different sizes")
    for k, (i, rel, j) in enumerate(spec.relations):
        where = f"field 'relations[{k}]'"
        _choice(rel, RELATIONS, where)
        for index in (i, j):
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(spec.objects):
                raise SpecError(f"{where}: index {index!r} does not name an object (0..{len(spec.objects) - 1})")
            if spec.objects[index].count != 1:
                raise SpecError(f"{where}: objects[{index}] has count {spec.objects[index].count}; "
                                "relations need single objects (count 1)")
        if i == j:
            raise SpecError(f"{where}: an object cannot be related to itself")


def as_spec(spec: "Spec | dict[str, Any]") -> Spec:
    """Accept a Spec or its dict form."""
    return spec if isinstance(spec, Spec) else Spec.from_dict(spec)


def load_prompts(path: str | os.PathLike) -> list[Spec]:
    """Read a prompts JSONL file; a bad line is an error naming the file, the line number and the field."""
    specs = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{os.fspath(path)} line {number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                raise SpecError(f"{where}: not valid JSON ({error.msg})") from None
            specs.append(Spec.from_dict(data, where))
    if not specs:
        raise SpecError(f"{os.fspath(path)}: no prompts in the file")
    return specs


def write_prompts(path: str | os.PathLike, specs: Iterable[Spec]) -> None:
    """Write specs as a prompts JSONL file, atomically."""
    text = "".join(json.dumps(as_spec(s).to_dict()) + "\n" for s in specs)
    write_text_atomic(path, text)

