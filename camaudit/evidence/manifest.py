"""The evidence pack's manifest: what was read, what was written, and how to re-check it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST",
    "MANIFEST_SCHEMA",
    "InputRecord",
    "Manifest",
    "ManifestError",
    "PackedPacket",
    "sha256_file",
    "sha256_tree",
]

MANIFEST = "manifest.json"
PCAPNG = "evidence.pcapng"
REPORT = "report.json"
MANIFEST_SCHEMA = "camaudit-evidence/1"


class ManifestError(ValueError):
    """The manifest is not one this camaudit wrote (missing field, wrong type, other schema)."""


def sha256_file(path: Path) -> str:
    """SHA-256 of the file's bytes as stored (a gzip'd capture: of the gzip bytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(root: Path) -> str:
    """One hash for a directory's contents: each file's relative path and SHA-256, sorted.

    Names and contents count, timestamps and permissions do not, so a copy of the same
    profiles elsewhere hashes the same.
    """
    lines = [
        f"{path.relative_to(root).as_posix()}\0{sha256_file(path)}\n"
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class InputRecord:
    """One input capture: where it was read from and its hash."""

    path: str
    sha256: str
    packets: int


@dataclass(frozen=True)
class PackedPacket:
    """One packet of ``evidence.pcapng`` (1-based ``index``) and the original it copies."""

    index: int
    capture: str
    frame: int
    sha256: str  # of the captured bytes


@dataclass(frozen=True)
class FlowCoverage:
    """A cited flow whose frames were all copied, or the shortfall if not."""

    flow: str
    expected_packets: int
    copied_packets: int


@dataclass(frozen=True)
class Manifest:
    """Everything a second auditor needs to re-check the pack (written sorted, no clock)."""

    schema: str
    tool: str
    tool_version: str
    command: tuple[str, ...]
    verdict: str
    exit_code: int
    policy_name: str
    policy_path: str | None
    policy_sha256: str | None
    profiles_path: str
    profiles_sha256: str
    inputs: tuple[InputRecord, ...]
    files: dict[str, str]  # file name in the pack -> SHA-256
    packets: tuple[PackedPacket, ...]
    flows: tuple[FlowCoverage, ...]
    created: str | None = None  # only with --timestamp

    def to_json(self) -> str:
        """Deterministic JSON text: sorted keys, fixed indentation, trailing newline."""
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse manifest text; raises :class:`ManifestError` on anything unexpected."""
        try:
            data = json.loads(text)
            if data.get("schema") != MANIFEST_SCHEMA:
                raise ManifestError(f"not a {MANIFEST_SCHEMA} manifest")
            return cls(
                schema=str(data["schema"]),
                tool=str(data["tool"]),
                tool_version=str(data["tool_version"]),
                command=tuple(str(a) for a in data["command"]),
                verdict=str(data["verdict"]),
                exit_code=int(data["exit_code"]),
                policy_name=str(data["policy_name"]),
                policy_path=_opt(data["policy_path"]),
                policy_sha256=_opt(data["policy_sha256"]),
                profiles_path=str(data["profiles_path"]),
                profiles_sha256=str(data["profiles_sha256"]),
                inputs=tuple(InputRecord(**_fields(i, InputRecord)) for i in data["inputs"]),
                files={str(k): str(v) for k, v in data["files"].items()},
                packets=tuple(PackedPacket(**_fields(p, PackedPacket)) for p in data["packets"]),
                flows=tuple(FlowCoverage(**_fields(f, FlowCoverage)) for f in data["flows"]),
                created=_opt(data.get("created")),
            )
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ManifestError(f"damaged manifest: {type(exc).__name__}: {exc}") from None


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _fields(item: Any, kind: type) -> dict[str, Any]:
    if not isinstance(item, dict) or set(item) != {f.name for f in fields(kind)}:
        raise ManifestError(f"damaged manifest: bad {kind.__name__} entry")
    return item
