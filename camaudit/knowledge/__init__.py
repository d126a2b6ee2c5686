"""Vendor knowledge, loaded once and handed to the stages that use it.

One home for every vendor fact: MAC blocks (``oui.toml``), phone-home rules
(``phone_home.toml``), camera ports (``ports.toml``), advisories (``cve.toml``) and the
fingerprint signatures, relabels and makes (``signatures.toml``), the BIO/BIO2 control
mapping (``bio.toml``), all in the profiles
directory and all checked by the validators of :mod:`camaudit.knowledge.validate`.
The CLI and :mod:`camaudit.api` call :func:`load_knowledge` once and pass the result
down; a stage called on its own gets the default directory's knowledge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from camaudit.knowledge.bio import Bio, load_bio
from camaudit.knowledge.profiles import Profiles, default_profiles_dir, load_profiles
from camaudit.knowledge.signatures import Signatures, load_signatures

__all__ = ["Bio", "Knowledge", "Profiles", "Signatures", "default_profiles_dir", "load_knowledge"]


@dataclass(frozen=True)
class Knowledge:
    """Everything the profiles directory holds, validated."""

    profiles: Profiles
    signatures: Signatures
    bio: Bio

    @property
    def camera_ports(self) -> tuple[int, ...]:
        """TCP ports the service scan covers when the target names none (``ports.toml``)."""
        return self.profiles.camera_ports


def load_knowledge(directory: str | Path | None = None) -> Knowledge:
    """Load and validate the profiles directory (default: :func:`default_profiles_dir`).

    Cached per directory. Raises :class:`~camaudit.errors.ProfileError` listing every
    problem of a file.
    """
    chosen = Path(directory) if directory else default_profiles_dir()
    return Knowledge(load_profiles(chosen), load_signatures(chosen), load_bio(chosen))


def given_or_default(knowledge: Knowledge | None) -> Knowledge:
    """``knowledge``, or the default directory's when a stage is called on its own."""
    return knowledge if knowledge is not None else load_knowledge()
