"""The BIO / BIO2 mapping as data: which control each finding rule speaks to.

``bio.toml`` in the profiles directory lists the controls (ISO/IEC 27002:2022 numbering,
as BIO2 uses it), each with its Dutch and English title, what camaudit tests for it, the
evidence that must have been examined before it can pass, and its source; and each rule
id camaudit emits with the controls it maps to. Validation collects every error and
raises :class:`camaudit.errors.ProfileError` once, like the other profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from camaudit.errors import ProfileError
from camaudit.knowledge import validate as v

__all__ = ["BIO_FILE", "EVIDENCE_KINDS", "Bio", "Control", "RuleMapping", "load_bio"]

BIO_FILE = "bio.toml"
SCHEMA_VERSION = 1
# What a report can show was examined; "never" marks a control no network audit can test.
EVIDENCE_KINDS = ("capture", "config", "firmware", "inventory", "register", "never")


@dataclass(frozen=True)
class Control:
    """One BIO2 control: its id (``8.22``), titles, what is tested, and its source."""

    id: str
    title_en: str
    title_nl: str
    tests: str
    evidence: tuple[str, ...]
    source: str
    title_nl_verified: bool
    not_tested_reason: str = ""


@dataclass(frozen=True)
class RuleMapping:
    """A finding rule id and the controls it speaks to (file order)."""

    id: str
    controls: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Bio:
    """Everything ``bio.toml`` holds, checked."""

    framework: str
    controls: tuple[Control, ...]
    rules: tuple[RuleMapping, ...]
    path: str

    def control(self, control_id: str) -> Control | None:
        """The control with this id, or ``None``."""
        return next((c for c in self.controls if c.id == control_id), None)

    @cached_property
    def _by_rule(self) -> dict[str, tuple[str, ...]]:
        # asked once per finding and control: a flood's 100 k findings must not scan the list
        by_rule: dict[str, tuple[str, ...]] = {}
        for mapping in self.rules:
            by_rule.setdefault(mapping.id, mapping.controls)
        return by_rule

    def controls_for(self, rule: str) -> tuple[str, ...]:
        """The control ids ``rule`` maps to; ``()`` for a rule the file does not name."""
        return self._by_rule.get(rule, ())


_CONTROL_ID = v.matching(r"^[5-8]\.[0-9]{1,2}$", "a control number like 8.22")
_TOP = {
    "schema_version": v.Field(v.schema_version(SCHEMA_VERSION), required=True),
    "framework": v.Field(v.text(), required=True),
    "control": v.Field(lambda value: value, default=[]),
    "rule": v.Field(lambda value: value, default=[]),
}
_CONTROL = {
    "id": v.Field(_CONTROL_ID, required=True),
    "title_en": v.Field(v.text(), required=True),
    "title_nl": v.Field(v.text(), required=True),
    "tests": v.Field(v.text(), required=True),
    "evidence": v.Field(
        v.list_of(v.one_of(*EVIDENCE_KINDS), "evidence kinds", non_empty=True), required=True
    ),
    "source": v.Field(v.text(), required=True),
    "title_nl_verified": v.Field(v.boolean(), required=True),
    "not_tested_reason": v.Field(v.text(empty_ok=True), default=""),
}
_RULE = {
    "id": v.Field(v.matching(r"^[A-Za-z][A-Za-z0-9-]*$", "a rule id"), required=True),
    "controls": v.Field(v.list_of(_CONTROL_ID, "control numbers", non_empty=True), required=True),
    "why": v.Field(v.text(), required=True),
}


def _controls(raw: list[object], display: str, errors: list[str]) -> tuple[Control, ...]:
    found: list[Control] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw, start=1):
        where = f"{display}: control[{index}]{v.entry_label(entry, 'id')}"
        # duplicates are told even when the first entry has other mistakes
        given = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(given, str) and given in seen:
            errors.append(f"{where}: id: duplicate of control[{seen[given]}]")
            continue
        if isinstance(given, str):
            seen[given] = index
        values = v.check_table(entry, _CONTROL, where, errors)
        if values is None:
            continue
        never = "never" in values["evidence"]
        if never and len(values["evidence"]) > 1:
            errors.append(f"{where}: evidence: 'never' cannot be combined with other kinds")
        if never != bool(values["not_tested_reason"]):
            errors.append(f"{where}: not_tested_reason: required with, and only with, 'never'")
        found.append(Control(**values))
    return tuple(found)


def _rules(
    raw: list[object], known: set[str], display: str, errors: list[str]
) -> tuple[RuleMapping, ...]:
    found: list[RuleMapping] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw, start=1):
        where = f"{display}: rule[{index}]{v.entry_label(entry, 'id')}"
        values = v.check_table(entry, _RULE, where, errors)
        if values is None:
            continue
        if values["id"] in seen:
            errors.append(f"{where}: id: duplicate of rule[{seen[values['id']]}]")
            continue
        missing = [c for c in values["controls"] if c not in known]
        if missing:
            errors.append(f"{where}: controls: no [[control]] with id {', '.join(missing)}")
        seen[values["id"]] = index
        found.append(RuleMapping(**values))
    return tuple(found)


def parse_bio(path: Path) -> Bio:
    """Load and validate one ``bio.toml``; :class:`ProfileError` lists every problem."""
    display = str(path)
    errors: list[str] = []
    data = v.read_toml(path, display, errors)
    top = v.check_table(data, _TOP, display, errors) if data is not None else None
    if data is None or top is None:
        raise ProfileError(display, errors)
    controls = _controls(v.table_list(data, "control", display, errors), display, errors)
    known = {c.id for c in controls}
    rules = _rules(v.table_list(data, "rule", display, errors), known, display, errors)
    if not controls:
        errors.append(f"{display}: control: expected at least one [[control]]")
    if errors:
        raise ProfileError(display, errors)
    return Bio(top["framework"], controls, rules, display)


def load_bio(directory: Path) -> Bio:
    """``bio.toml`` of a profiles directory (cached per resolved file)."""
    return _cached((Path(directory) / BIO_FILE).resolve())


@cache
def _cached(path: Path) -> Bio:
    return parse_bio(path)
