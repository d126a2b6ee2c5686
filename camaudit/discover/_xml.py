"""Safe and tolerant XML for device replies.

Safe: defusedxml refuses every DTD, entity declaration and external reference, so an
entity-expansion bomb or an external entity ends as a :class:`ReplyError`, never as
expansion or a file read. Tolerant: devices answer with stray whitespace, NUL padding, a
byte-order mark, raw control characters, invalid UTF-8, undeclared namespace prefixes or
no namespaces at all; control characters and invalid UTF-8 are therefore shown escaped
(``\\x1b``) rather than failing the reply, elements are found by local name,
case-insensitively, and an "unbound prefix" reply is parsed again without prefixes.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_xml

from camaudit.discover._common import ReplyError, one_line

_C0_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_OTHER_ENCODING = re.compile(rb"<\?xml[^>]*encoding=[\"'](?!utf-?8)", re.IGNORECASE)
_PREFIXED_TAG = re.compile(rb"<(/?)[A-Za-z_][\w.-]*:")
_PREFIXED_ATTR = re.compile(rb"\s[A-Za-z_][\w.-]*:[\w.-]+\s*=\s*(\"[^\"]*\"|'[^']*')")
_XMLNS_ATTR = re.compile(rb"\sxmlns(:[\w.-]+)?\s*=\s*(\"[^\"]*\"|'[^']*')")


def parse(data: bytes) -> Element:
    """The root element of a device's XML reply; raises :class:`ReplyError` with the reason."""
    text = data.strip(b"\x00 \t\r\n")
    text = text.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise ReplyError("empty reply")
    # XML forbids C0 controls, yet devices put escape codes in names: show them, as
    # clean_text would, instead of losing the whole reply
    text = _C0_CONTROLS.sub(lambda m: b"\\x%02x" % m.group(0)[0], text)
    if not _OTHER_ENCODING.match(text):
        text = text.decode("utf-8", "backslashreplace").encode()  # invalid UTF-8 shown, not fatal
    try:
        return _parse(text)
    except ParseError as error:
        if "unbound prefix" not in str(error):
            raise ReplyError(f"unparsable XML: {one_line(error)}") from None
    try:
        return _parse(strip_prefixes(text))
    except ParseError as error:
        raise ReplyError(f"unparsable XML: {one_line(error)}") from None


def _parse(text: bytes) -> Element:
    try:
        root: Element = safe_xml.fromstring(text, forbid_dtd=True)
    except defusedxml.DTDForbidden:
        raise ReplyError("XML refused: a DTD (entity expansion or external entity risk)") from None
    except defusedxml.EntitiesForbidden:
        raise ReplyError("XML refused: entity declarations (entity expansion risk)") from None
    except defusedxml.ExternalReferenceForbidden:
        raise ReplyError("XML refused: an external reference") from None
    except defusedxml.DefusedXmlException as error:
        raise ReplyError(f"XML refused: {one_line(error)}") from None
    except (ValueError, LookupError) as error:  # expat: multi-byte or unknown encoding
        raise ReplyError(f"unparsable XML: {one_line(error)}") from None
    return root


def strip_prefixes(text: bytes) -> bytes:
    """``text`` with namespace prefixes and declarations removed from tags and attributes."""
    text = _XMLNS_ATTR.sub(b"", text)
    text = _PREFIXED_ATTR.sub(b"", text)
    return _PREFIXED_TAG.sub(rb"<\1", text)


def local_name(element: Element) -> str:
    """The tag without its ``{namespace}`` or ``prefix:``, lower-cased."""
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rpartition("}")[2].rpartition(":")[2].lower()


def find_all(root: Element, name: str) -> list[Element]:
    """Every element under (and including) ``root`` whose local name is ``name``."""
    wanted = name.lower()
    return [element for element in root.iter() if local_name(element) == wanted]


def child_text(element: Element, name: str) -> str | None:
    """Whitespace-trimmed text of the first descendant named ``name``; ``None`` if absent/empty."""
    for found in find_all(element, name):
        if found is element:
            continue
        text = "".join(found.itertext()).strip()
        if text:
            return text
    return None
