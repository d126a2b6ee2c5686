"""Join every probe attempt and discovery sighting into one :class:`Identity`.

Each fact that a signature, an OEM brand, a maker's name or an OUI family recognises casts
a weighted vote for a vendor family (and maybe a brand: the relabel, or for makers outside
the tracked families, family ``other``, the maker itself: Axis, Bosch, Hanwha ...). Votes
of one signature count once (the same banner on two ports is one fact); independent votes
combine as ``1 - prod(1 - w)``.
The maker with the highest score wins; every vote for another maker, and every
disagreement about model, firmware or brand, is reported as a conflict, never dropped.
All vendor knowledge comes from :mod:`camaudit.knowledge.signatures` and the OUI table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from camaudit.discover.interface import Sighting
from camaudit.fingerprint.interface import Identity, ProbeAttempt
from camaudit.knowledge import Knowledge, given_or_default
from camaudit.knowledge.profiles import Profiles
from camaudit.knowledge.signatures import Signatures
from camaudit.sanitize import clean_text

__all__ = ["Evidence", "Vote", "collect_evidence", "identify"]

# facts in which a device may name its own brand
BRAND_FACTS = ("manufacturer", "vendor", "oui_organisation", "title", "service", "onvif_name")
HARDWARE_SCOPE = "onvif://www.onvif.org/hardware/"
NAME_SCOPE = "onvif://www.onvif.org/name/"
# weights of a brand named by the device itself, by how well the brand's maker is sourced
BRAND_WEIGHT_VERIFIED = 0.6
BRAND_WEIGHT_UNVERIFIED = 0.4
MODEL_PREFIX_WEIGHT = 0.5


@dataclass(frozen=True)
class Evidence:
    """One fact and where it came from (``http:80``, ``sadp sighting``, ``OUI``)."""

    source: str
    key: str
    value: str


@dataclass(frozen=True)
class Vote:
    """A recognised fact: it says ``vendor`` (and maybe ``brand``) with ``weight``."""

    vendor: str
    weight: float
    rule: str  # signature id, "oem:<brand>" or "oui:<family>"
    line: str  # evidence line naming the source
    source: str  # the probe or sighting the fact came from
    brand: str | None = None


def _scope_facts(source: str, scopes: str) -> Iterable[Evidence]:
    # scopes are URIs: a space in a model or name is sent percent-encoded (AXIS%20M3046-V)
    for scope in scopes.split():
        if scope.lower().startswith(HARDWARE_SCOPE):
            yield Evidence(source, "model", clean_text(unquote(scope[len(HARDWARE_SCOPE) :])))
        elif scope.lower().startswith(NAME_SCOPE):
            yield Evidence(source, "onvif_name", clean_text(unquote(scope[len(NAME_SCOPE) :])))


def collect_evidence(
    attempts: Sequence[ProbeAttempt], sightings: Sequence[Sighting], profiles: Profiles
) -> list[Evidence]:
    """Every fact of every attempt and sighting, plus OUI facts for every MAC seen."""
    found: list[Evidence] = []
    for attempt in attempts:
        found += [Evidence(attempt.probe, key, value) for key, value in attempt.facts]
    for sighting in sightings:
        source = f"{clean_text(sighting.method, 40)} sighting"
        found.append(Evidence(source, "discovered_by", clean_text(sighting.method, 40)))
        for key, value in sighting.facts:
            found.append(Evidence(source, key, clean_text(value)))
            if key == "scopes":
                found += _scope_facts(source, value)
        if sighting.mac:
            found.append(Evidence(source, "mac", clean_text(sighting.mac, 40)))
    for mac in dict.fromkeys(e.value for e in found if e.key == "mac"):
        entry = profiles.oui_lookup(mac)
        if entry is not None:
            source = f"OUI {entry.prefix} of {mac}"
            found.append(Evidence(source, "oui_vendor", entry.vendor))
            found.append(Evidence(source, "oui_organisation", clean_text(entry.organisation)))
    return found


def _tag(verified: bool) -> str:
    return "" if verified else ", unverified"


def _votes(evidence: Sequence[Evidence], signatures: Signatures) -> list[Vote]:
    votes: list[Vote] = []
    for fact in evidence:
        for sig in signatures.signatures:
            if fact.key in sig.facts and sig.matches(fact.value):
                says = sig.vendor + (f" ({sig.oem_brand})" if sig.oem_brand else "")
                votes.append(
                    Vote(
                        sig.vendor,
                        sig.weight,
                        sig.id,
                        f"{fact.source}: {fact.key} {fact.value!r} says {says} "
                        f"[{sig.id}{_tag(sig.verified)}; {sig.source}]",
                        fact.source,
                        sig.oem_brand,
                    )
                )
        for oem in signatures.oems:
            named = fact.key in BRAND_FACTS and oem.named_in(fact.value)
            by_model = fact.key == "model" and oem.model_matches(fact.value)
            if named or by_model:
                weight = (
                    MODEL_PREFIX_WEIGHT
                    if by_model and not named
                    else (BRAND_WEIGHT_VERIFIED if oem.verified else BRAND_WEIGHT_UNVERIFIED)
                )
                votes.append(
                    Vote(
                        oem.maker,
                        weight,
                        f"oem:{oem.brand}",
                        f"{fact.source}: {fact.key} {fact.value!r} names {oem.brand}, "
                        f"a {oem.maker} relabel [oem{_tag(oem.verified)}; {oem.source}]",
                        fact.source,
                        oem.brand,
                    )
                )
        for make in signatures.makes:
            if fact.key in make.facts and make.named_in(fact.value):
                votes.append(
                    Vote(
                        make.family,
                        BRAND_WEIGHT_VERIFIED if make.verified else BRAND_WEIGHT_UNVERIFIED,
                        f"make:{make.brand}",
                        f"{fact.source}: {fact.key} {fact.value!r} names the maker {make.brand} "
                        f"(family {make.family}) [make{_tag(make.verified)}; {make.source}]",
                        fact.source,
                        make.brand,
                    )
                )
        if fact.key == "oui_vendor":
            for family in signatures.oui_families:
                if family.oui_vendor == fact.value:
                    says = family.vendor + (f" ({family.oem_brand})" if family.oem_brand else "")
                    votes.append(
                        Vote(
                            family.vendor,
                            family.weight,
                            f"oui:{family.oui_vendor}",
                            f"{fact.source}: registered to a {fact.value} block, "
                            f"says {says} [{family.source}]",
                            fact.source,
                            family.oem_brand,
                        )
                    )
    return votes


def _scores(votes: Sequence[Vote]) -> dict[str, float]:
    best: dict[tuple[str, str], float] = {}
    for vote in votes:
        key = (vote.vendor, vote.rule)
        best[key] = max(best.get(key, 0.0), vote.weight)
    remaining: dict[str, float] = {}
    for (vendor, _), weight in best.items():
        remaining[vendor] = remaining.get(vendor, 1.0) * (1.0 - weight)
    return {vendor: 1.0 - rest for vendor, rest in remaining.items()}


def _pick(values: Sequence[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """The most reported value (first on a tie) and conflict lines for the others."""
    if not values:
        return None, []
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for value, _ in values:
        norm = value.strip().lower()
        counts[norm] = counts.get(norm, 0) + 1
        first.setdefault(norm, value.strip())
    chosen = max(counts, key=lambda n: (counts[n], -list(first).index(n)))
    others = [f"{v!r} ({s})" for v, s in values if v.strip().lower() != chosen]
    return first[chosen], others


def _firmware_candidates(evidence: Sequence[Evidence]) -> list[tuple[str, str]]:
    """``(firmware, source)`` per source, a separate ``build`` fact joined on."""
    out: list[tuple[str, str]] = []
    for source in dict.fromkeys(e.source for e in evidence):
        mine = [e for e in evidence if e.source == source]
        builds = [e.value for e in mine if e.key == "build"]
        for fact in (e for e in mine if e.key == "firmware"):
            text = fact.value
            if builds and "build" not in text.lower():
                # Rejoin in the vendor's own notation so the version formats can read it:
                # Hikvision "V5.6.3 build 200612", Dahua "2.800...R, build:2020-06-05".
                build = builds[0].strip()
                bare = build[5:].lstrip(" :") if build.lower().startswith("build") else build
                text = f"{text} build {bare}" if bare.isdigit() else f"{text}, build:{bare}"
            out.append((text, source))
    return out


def _firmware(
    evidence: Sequence[Evidence], signatures: Signatures
) -> tuple[str | None, dt.date | None, list[str], list[str]]:
    candidates = _firmware_candidates(evidence)
    parsed = [(fw, src, signatures.split_version(fw)) for fw, src in candidates]
    # prefer a string whose build date we can read
    parsed.sort(key=lambda item: item[2] is None or item[2][1] is None)
    if not parsed:
        return None, None, [], []
    firmware, source, split = parsed[0]
    lines = [f"{source}: firmware {firmware!r}"]
    build = None
    if split is not None:
        build = split[1]
        lines[0] += f" -> version {split[0]}, build date {build or 'unknown'} [{split[2].id}]"
    versions = {(s[0], s[1]) if s else (fw.lower(), None) for fw, _, s in parsed}
    conflicts = []
    if len(versions) > 1:
        shown = ", ".join(f"{fw!r} ({src})" for fw, src, _ in parsed)
        conflicts.append(f"firmware reported differently: {shown}")
    return firmware, build, lines, conflicts


def identify(
    attempts: Sequence[ProbeAttempt],
    sightings: Sequence[Sighting] = (),
    knowledge: Knowledge | None = None,
) -> Identity:
    """One identity from all the evidence, with its confidence and conflicts."""
    known = given_or_default(knowledge)
    signatures = known.signatures
    evidence = collect_evidence(attempts, sightings, known.profiles)
    votes = _votes(evidence, signatures)
    scores = _scores(votes)
    ranked = sorted(scores, key=lambda v: -scores[v])
    vendor = ranked[0] if ranked else None
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    confidence = round(scores[vendor] * (1.0 - runner_up / 2), 2) if vendor else 0.0

    lines = [vote.line for vote in votes if vote.vendor == vendor]
    conflicts = [f"{vote.line}; disagrees with {vendor}" for vote in votes if vote.vendor != vendor]

    brands = [(vote.brand, vote.source) for vote in votes if vote.brand and vote.vendor == vendor]
    brand, other_brands = _pick(brands)
    if other_brands:
        conflicts.append(f"relabel brand {brand!r} also reported as {', '.join(other_brands)}")

    models = [(e.value, e.source) for e in evidence if e.key == "model"]
    model, other_models = _pick(models)
    if model:
        lines.append(f"{next(s for v, s in models if v.strip() == model)}: model {model!r}")
    if other_models:
        conflicts.append(f"model {model!r} also reported as {', '.join(other_models)}")

    firmware, build, firmware_lines, firmware_conflicts = _firmware(evidence, signatures)
    lines += firmware_lines
    conflicts += firmware_conflicts
    if vendor is None:
        lines.append("no fact matched a camera signature")
    return Identity(
        vendor=vendor,
        oem_brand=brand,
        model=model,
        firmware=firmware,
        build_date=build,
        confidence=confidence,
        evidence=tuple(dict.fromkeys(lines)),
        conflicts=tuple(dict.fromkeys(conflicts)),
    )
