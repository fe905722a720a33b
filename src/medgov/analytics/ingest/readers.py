"""Streaming readers for FHIR R4 in the forms exports take: Bulk Data NDJSON, Bundles, single resources.

One reader handles every form, because real exports mix them:

- NDJSON (``.ndjson``, ``.jsonl``, or a ``.json`` file whose first line is a whole JSON value), as the FHIR Bulk
  Data ``$export`` operation writes it (https://hl7.org/fhir/uv/bulkdata/): one resource per line, or one
  Bundle per line. Read line by line, so memory is bounded by the longest line.
- A JSON document (``.json``): one resource (as QI-Core test cases are kept), one Bundle (as Synthea writes),
  or an array of either. Documents up to ``whole_document_limit`` bytes are parsed at once with orjson; larger
  ones, and broken ones, are streamed entry by entry with ijson, so a truncated Bundle still yields every
  entry that precedes the break.
- Any of these gzip-compressed (detected by the gzip magic number, not the file name).

Bundles (``transaction``, ``batch``, ``collection``, ``searchset``, ...) are unpacked into their entries'
resources. A reference to another entry's ``fullUrl`` is rewritten to the ``Type/id`` it names (FHIR R4
Bundle, "Resolving references in Bundles"), so ``urn:uuid:`` references from Synthea become ordinary ones.

Nothing is dropped silently: every record that cannot be landed is yielded as a :class:`Rejected` with a
reason, its location and its raw text.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import ijson
import orjson

from medgov.analytics.ingest.fhir import RESOURCE_TYPES, parse_instant

RAW_TEXT_LIMIT = 4000
"""Characters of a rejected record kept in quarantine: enough to see the problem, bounded for huge records."""

WHOLE_DOCUMENT_LIMIT = 16 * 1024 * 1024
"""JSON documents up to this size are parsed at once (fast); larger ones are streamed (bounded memory)."""

NDJSON_SUFFIXES = frozenset({".ndjson", ".jsonl"})
SOURCE_SUFFIXES = (".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz", ".json.gz")

_GZIP_MAGIC = b"\x1f\x8b"
_REFERENCE = re.compile(rb'"reference":"([^"\\]*)"')
_BUNDLE_LOCAL_PREFIXES = (b"urn:uuid:", b"urn:oid:")
_LOCAL_REFERENCE = b'"reference":"urn:'  # orjson writes no spaces, so every urn: reference contains this


class Reason(StrEnum):
    MALFORMED_JSON = "malformed_json"
    TRUNCATED = "truncated"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_RESOURCE_TYPE = "missing_resource_type"
    UNKNOWN_RESOURCE_TYPE = "unknown_resource_type"
    MISSING_ID = "missing_id"
    INVALID_META = "invalid_meta"
    UNRESOLVED_REFERENCE = "unresolved_reference"
    ENTRY_WITHOUT_RESOURCE = "entry_without_resource"


@dataclass(slots=True)
class Resource:
    """A resource ready to land: identity, version metadata and its serialised JSON."""

    resource_type: str
    id: str
    version_id: str | None
    last_updated: datetime | None
    body: bytes
    content_hash: str
    source_line: int | None
    source_entry: int | None


@dataclass(slots=True)
class Rejected:
    """A record that cannot land, with where it came from and why."""

    reason: Reason
    detail: str
    raw_text: str
    source_line: int | None
    source_entry: int | None
    resource_type: str | None = None
    resource_id: str | None = None


Record = Resource | Rejected


def discover(paths: list[Path]) -> list[Path]:
    """The source files named by ``paths`` (files, or folders searched recursively), sorted and without repeats.

    A folder contributes only files that look like FHIR JSON (``SOURCE_SUFFIXES``), so README files beside test
    cases are not mistaken for data; a file named explicitly is always read. Raises ``FileNotFoundError``
    naming the first path that does not exist.
    """
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                if candidate.is_file() and candidate.name.lower().endswith(SOURCE_SUFFIXES):
                    found.setdefault(candidate.resolve(), None)
        elif path.is_file():
            found.setdefault(path.resolve(), None)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return list(found)


class SourceFile:
    """Reads one file as a stream of :class:`Record`; ``bytes_read`` tracks progress through the file on disk."""

    def __init__(self, path: Path, *, whole_document_limit: int = WHOLE_DOCUMENT_LIMIT) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.whole_document_limit = whole_document_limit
        self._raw: BinaryIO | None = None
        self._high_water = 0
        with path.open("rb") as probe:
            self.compressed = probe.read(2) == _GZIP_MAGIC
        name = path.name.lower().removesuffix(".gz")
        self.ndjson_by_name = Path(name).suffix in NDJSON_SUFFIXES

    @property
    def bytes_read(self) -> int:
        """On-disk bytes consumed so far; never goes back when a second pass re-reads the file."""
        if self._raw is not None and not self._raw.closed:
            self._high_water = max(self._high_water, self._raw.tell())
        return self._high_water

    @contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        with self.path.open("rb") as raw:
            self._raw = raw
            if self.compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    yield cast(IO[bytes], stream)
            else:
                yield raw

    def records(self) -> Iterator[Record]:
        with self._open() as stream:
            first_line = _read_first_line(stream)
        if first_line is not None:
            if self.ndjson_by_name or _is_json_value(first_line):
                yield from self._ndjson_records()
            else:
                yield from self._document_records()
        self._high_water = self.size

    def _ndjson_records(self) -> Iterator[Record]:
        line_number = 0
        with self._open() as stream:
            try:
                for line_number, line in enumerate(stream, start=1):
                    stripped = line.strip()
                    if not stripped:
                        continue
                    try:
                        value = orjson.loads(stripped)
                    except orjson.JSONDecodeError as error:
                        last_line_cut = not line.endswith(b"\n")
                        yield Rejected(
                            reason=Reason.TRUNCATED if last_line_cut else Reason.MALFORMED_JSON,
                            detail=(
                                f"the last line ends before its JSON value does ({error})"
                                if last_line_cut
                                else f"line is not valid JSON ({error})"
                            ),
                            raw_text=_raw_text(stripped),
                            source_line=line_number,
                            source_entry=None,
                        )
                        continue
                    yield from _records_from_value(value, source_line=line_number)
            except (EOFError, OSError, zlib.error) as error:
                yield _stream_broken(error, after_line=line_number)

    def _document_records(self) -> Iterator[Record]:
        with self._open() as stream:
            data = stream.read(self.whole_document_limit + 1) if self._can_read_whole() else b""
            parsed: Any = None
            fits = 0 < len(data) <= self.whole_document_limit
            if fits:
                try:
                    parsed = orjson.loads(data)
                except orjson.JSONDecodeError:
                    fits = False
            del data
        if fits:
            yield from _records_from_value(parsed, source_line=1)
        else:
            yield from self._streamed_document_records()

    def _can_read_whole(self) -> bool:
        # A compressed file's size says little about its content's, so it is read up to the limit and checked.
        return self.compressed or self.size <= self.whole_document_limit

    def _streamed_document_records(self) -> Iterator[Record]:
        outline = self._outline()
        if outline.top_level == "array":
            yield from self._streamed_items("item", outline, bundle=False)
        elif outline.is_bundle:
            yield from self._streamed_items("entry.item", outline, bundle=True)
        elif outline.error is not None:
            with self._open() as stream:
                head = stream.read(RAW_TEXT_LIMIT)
            yield Rejected(
                reason=Reason.TRUNCATED if outline.ended_early else Reason.MALFORMED_JSON,
                detail=f"the document is not valid JSON ({outline.error})",
                raw_text=_raw_text(head),
                source_line=1,
                source_entry=None,
                resource_type=outline.resource_type,
            )
        else:
            # A single resource larger than the limit: rare enough that reading it whole is the simple answer.
            with self._open() as stream:
                value = orjson.loads(stream.read())
            yield from _records_from_value(value, source_line=1)

    def _outline(self) -> _Outline:
        """First pass over a streamed document: its shape and every entry's fullUrl, to resolve references."""
        outline = _Outline()
        full_url: str | None = None
        entry_type: str | None = None
        entry_id: str | None = None
        with self._open() as stream:
            try:
                for prefix, event, value in ijson.parse(stream):
                    if prefix == "" and event in ("start_map", "start_array"):
                        outline.top_level = "array" if event == "start_array" else "object"
                    elif prefix == "resourceType":
                        outline.resource_type = str(value)
                    elif prefix == "entry.item" and event == "start_map":
                        full_url = entry_type = entry_id = None
                        outline.entries_seen = True
                    elif prefix == "entry.item.fullUrl":
                        full_url = str(value)
                    elif prefix == "entry.item.resource.resourceType":
                        entry_type = str(value)
                    elif prefix == "entry.item.resource.id":
                        entry_id = str(value)
                    elif prefix == "entry.item" and event == "end_map" and full_url and entry_type:
                        outline.add_full_url(full_url, entry_type, entry_id)
            except ijson.IncompleteJSONError as error:
                outline.error = str(error).strip()
                outline.ended_early = "incomplete" in outline.error.lower() or "premature" in outline.error.lower()
            except (ijson.JSONError, EOFError, OSError, zlib.error) as error:
                outline.error = str(error).strip()
                outline.ended_early = isinstance(error, EOFError)
        return outline

    def _streamed_items(self, prefix: str, outline: _Outline, *, bundle: bool) -> Iterator[Record]:
        index = -1
        with self._open() as stream:
            try:
                for index, item in enumerate(ijson.items(stream, prefix, use_float=True)):
                    if bundle:
                        yield _entry_record(item, outline.full_urls, source_line=1, source_entry=index)
                    else:
                        yield from _records_from_value(item, source_line=1, source_entry=index)
            except (ijson.JSONError, EOFError, OSError, zlib.error) as error:
                yield Rejected(
                    reason=Reason.TRUNCATED if outline.ended_early else Reason.MALFORMED_JSON,
                    detail=(
                        f"the document breaks inside item {index + 1} ({str(error).strip()}); "
                        f"the {index + 1} items before it were read, none after it"
                    ),
                    raw_text="",
                    source_line=1,
                    source_entry=index + 1,
                )


@dataclass(slots=True)
class _Outline:
    top_level: str = ""
    resource_type: str | None = None
    entries_seen: bool = False
    error: str | None = None
    ended_early: bool = False
    full_urls: dict[bytes, bytes] = field(default_factory=dict)

    @property
    def is_bundle(self) -> bool:
        return self.resource_type == "Bundle" or (self.resource_type is None and self.entries_seen)

    def add_full_url(self, full_url: str, resource_type: str, resource_id: str | None) -> None:
        if resource_id is None and full_url.startswith("urn:uuid:"):
            resource_id = full_url.removeprefix("urn:uuid:")
        if resource_id:
            self.full_urls[full_url.encode()] = f"{resource_type}/{resource_id}".encode()


def _read_first_line(stream: IO[bytes]) -> bytes | None:
    """The first non-blank line (at most the whole-document limit), or None for an empty file."""
    try:
        for line in stream:
            if line.strip():
                return line
    except (EOFError, OSError, zlib.error):
        return b"?"
    return None


def _is_json_value(line: bytes) -> bool:
    stripped = line.strip()
    if not stripped.startswith((b"{", b"[")):
        return False
    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return False
    return True


def _stream_broken(error: BaseException, *, after_line: int) -> Rejected:
    return Rejected(
        reason=Reason.TRUNCATED,
        detail=f"the compressed stream breaks after line {after_line} ({error}); the lines before it were read",
        raw_text="",
        source_line=after_line + 1,
        source_entry=None,
    )


def _raw_text(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[:RAW_TEXT_LIMIT]


def _records_from_value(value: Any, *, source_line: int, source_entry: int | None = None) -> Iterator[Record]:
    if not isinstance(value, dict):
        yield Rejected(
            reason=Reason.NOT_AN_OBJECT,
            detail=f"expected a JSON object (a resource or a Bundle), found {type(value).__name__}",
            raw_text=_raw_text(orjson.dumps(value)),
            source_line=source_line,
            source_entry=source_entry,
        )
        return
    if value.get("resourceType") == "Bundle" and source_entry is None:
        entries = value.get("entry") or []
        full_urls = _full_urls(entries)
        for index, entry in enumerate(entries):
            yield _entry_record(entry, full_urls, source_line=source_line, source_entry=index)
        return
    yield _resource_record(value, {}, source_line=source_line, source_entry=source_entry)


def _full_urls(entries: list[Any]) -> dict[bytes, bytes]:
    full_urls: dict[bytes, bytes] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        full_url = entry.get("fullUrl")
        resource = entry.get("resource")
        if not isinstance(full_url, str) or not isinstance(resource, dict):
            continue
        resource_type = resource.get("resourceType")
        resource_id = resource.get("id")
        if resource_id is None and full_url.startswith("urn:uuid:"):
            resource_id = full_url.removeprefix("urn:uuid:")
        if isinstance(resource_type, str) and isinstance(resource_id, str) and resource_id:
            full_urls[full_url.encode()] = f"{resource_type}/{resource_id}".encode()
    return full_urls


def _entry_record(entry: Any, full_urls: Mapping[bytes, bytes], *, source_line: int, source_entry: int) -> Record:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(resource, dict):
        request = entry.get("request") if isinstance(entry, dict) else None
        method = request.get("method") if isinstance(request, dict) else None
        return Rejected(
            reason=Reason.ENTRY_WITHOUT_RESOURCE,
            detail=(
                f"Bundle entry {source_entry} has no resource (request {method} {request.get('url')!s})"
                if isinstance(request, dict)
                else f"Bundle entry {source_entry} has no resource"
            ),
            raw_text=_raw_text(orjson.dumps(entry)),
            source_line=source_line,
            source_entry=source_entry,
        )
    full_url = entry.get("fullUrl")
    if "id" not in resource and isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
        # Transaction entries that POST may leave the id to the server; the fullUrl's UUID is the identity the
        # bundle's own references use, so it is the one to keep.
        resource = {**resource, "id": full_url.removeprefix("urn:uuid:")}
    return _resource_record(resource, full_urls, source_line=source_line, source_entry=source_entry)


def _resource_record(
    resource: dict[str, Any], full_urls: Mapping[bytes, bytes], *, source_line: int, source_entry: int | None
) -> Record:
    resource_type = resource.get("resourceType")
    resource_id = resource.get("id")
    shown_id = resource_id if isinstance(resource_id, str) else None

    def rejected(reason: Reason, detail: str) -> Rejected:
        return Rejected(
            reason=reason,
            detail=detail,
            raw_text=_raw_text(orjson.dumps(resource)),
            source_line=source_line,
            source_entry=source_entry,
            resource_type=resource_type if isinstance(resource_type, str) else None,
            resource_id=shown_id,
        )

    if not isinstance(resource_type, str) or not resource_type:
        return rejected(Reason.MISSING_RESOURCE_TYPE, "the resource has no resourceType")
    if resource_type not in RESOURCE_TYPES:
        return rejected(Reason.UNKNOWN_RESOURCE_TYPE, f"resourceType {resource_type!r} is not a FHIR R4 resource")
    if not isinstance(resource_id, str) or not resource_id:
        return rejected(Reason.MISSING_ID, f"the {resource_type} has no id")

    version_id: str | None = None
    last_updated: datetime | None = None
    meta = resource.get("meta")
    if isinstance(meta, dict):
        raw_version = meta.get("versionId")
        if raw_version is not None:
            version_id = str(raw_version)
        raw_last_updated = meta.get("lastUpdated")
        if raw_last_updated is not None:
            try:
                last_updated = parse_instant(str(raw_last_updated))
            except ValueError:
                return rejected(Reason.INVALID_META, f"meta.lastUpdated {raw_last_updated!r} is not an instant")

    body = orjson.dumps(resource)
    # Outside a Bundle only a urn: reference can be wrong; codes like "urn:medgov:..." need no second look.
    if full_urls or _LOCAL_REFERENCE in body:
        unresolved: list[str] = []

        def resolve(match: re.Match[bytes]) -> bytes:
            reference = match.group(1)
            target = full_urls.get(reference)
            if target is not None:
                return b'"reference":"' + target + b'"'
            if reference.startswith(_BUNDLE_LOCAL_PREFIXES):
                unresolved.append(reference.decode())
            return match.group(0)

        body = _REFERENCE.sub(resolve, body)
        if unresolved:
            where = "in the bundle" if full_urls else "outside a Bundle"
            return rejected(
                Reason.UNRESOLVED_REFERENCE,
                f"reference {', '.join(unresolved)} names no entry {where}",
            )

    return Resource(
        resource_type=resource_type,
        id=resource_id,
        version_id=version_id,
        last_updated=last_updated,
        body=body,
        content_hash=hashlib.blake2b(body, digest_size=16).hexdigest(),
        source_line=source_line,
        source_entry=source_entry,
    )
