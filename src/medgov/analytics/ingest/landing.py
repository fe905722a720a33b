"""Landing resources raw in the warehouse, idempotently; quarantining what cannot land.

``raw_resource`` holds one row per (resource_type, id): the newest version seen. A load, inside its transaction,
first writes every record it reads straight into ``raw_resource``, tagged with the load's id, beside the stored
versions, and then settles each key in one merge: the records that lose are deleted again, and so are the stored
rows they supersede. Each resource is so written once, as DuckDB's own read of the file would write it.

An NDJSON file (plain or gzip) whose every line starts a JSON object is read by DuckDB itself, on every core:
``read_ndjson_objects`` appends its lines, with their members and whether SQL can vouch for each, to a temporary
staging table; every ``STAGED_BYTES`` and at the end one statement moves the lines it vouches for into
``raw_resource``, numbered by ``row_number() OVER ()`` over that table less the lines staged before the file's first
(the reader returns lines in the file's order and skips blank ones, hence the first condition, settled by the
file's size or a byte scan). Only what SQL cannot vouch for goes to the Python readers: a line
that is valid JSON but not a plain resource (a Bundle, a missing or unknown ``resourceType``, a missing ``id``,
unusual ``meta``, a ``urn:`` reference) is handed to them by its line; a file with a blank line or one that is not
an object, a line DuckDB cannot parse (``ignore_errors`` returns it as NULL) or parses more leniently than JSON
allows (``NaN``, trailing commas), or a gzip stream that breaks, is read whole by them, so each record keeps the
bucket, reason, detail and line those give it. JSON documents take the Python readers directly. A statement that
fails aborts DuckDB's transaction, so the load (see :mod:`load`) is then rolled back and run again with that file
read by the Python readers.

Merging, set-based: a resource whose key occurs once in the load is compared with the stored version in one
join; the keys that occur more than once (rare: one export seldom repeats a resource) are replayed in load order
in Python from their version metadata alone. Then one delete of the superseded stored rows and, when there are
any, one of the load's records that did not win.

Records of one resource are taken in the order they are read, as if applied one by one: a record newer than the
current version replaces it, an older one is ``stale`` and leaves it, and one whose metadata cannot tell it
apart (same ``meta.lastUpdated``/``meta.versionId``, or none) is ``unchanged`` when its content is identical and
otherwise replaces it, because the later export is the better guess at the truth.

The content hash is DuckDB's 64-bit ``hash()`` of the resource as stored: DuckDB's compact serialisation of the
parsed JSON, which both paths produce, so whitespace and the way a resource arrived do not change it. (MD5 took
as long as everything else the move into ``raw_resource`` does but the write; a DuckDB that hashes otherwise makes
the stored hashes again, see :mod:`medgov.analytics.warehouse.connection`.) Two different versions of a resource
with the same metadata would be taken for one only if their hashes collided, one chance in 2**64.

Memory: Python holds at most ``chunk_size`` records and one line or document at a time (as before); the load's
rows live in DuckDB's buffer pool, which ``memory_limit`` caps and which writes them to the warehouse file (or
spills them to its temporary directory) beyond it, so a load larger than memory needs disk, not RAM.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from os import SEEK_END
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa

from medgov.analytics.contracts import UNKNOWN_RESOURCE_TYPE, ResourceTypeCounts
from medgov.analytics.ingest.fhir import RESOURCE_TYPES, compare_versions
from medgov.analytics.ingest.readers import Rejected, Resource, SourceFile, records_from_json
from medgov.analytics.warehouse.connection import run, scalar

NEW = "new"
REPLACED = "replaced"
UNCHANGED = "unchanged"
STALE = "stale"
QUARANTINED = "quarantined"

FIRST_READ_LINE_BYTES = 1024 * 1024
"""DuckDB's ``maximum_object_size`` on a file's first read: the reader's buffers are as large, and it reads a file
a buffer per thread, so with 64 MiB a 60 MB file took one core. A file with a longer line (a NULL row) is read again
with ``MAX_LINE_BYTES``."""

MAX_LINE_BYTES = 64 * 1024 * 1024
"""DuckDB's ``maximum_object_size`` on a second read: a file it cannot read in that (an error, or a NULL row) is
read by the Python readers instead."""

ProgressCallback = Callable[[int, Path], None]
"""Called with the number of on-disk bytes just consumed and the file being read."""

# How a line DuckDB read lands (staged_line.mark): in SQL as it is (NULL), or by the Python readers: from its
# parsed JSON, or (the whole file) from the file.
_HAND_BACK = -2
_REREAD_FILE = -3

# A line DuckDB parses but RFC 8259 (and so the Python readers) rejects: NaN or Infinity, a trailing comma, an
# exponent beyond a double. Matches inside strings only send a file to the slower, exact path.
_LENIENT_JSON = r"(?i)[:,\[]\s*[+-]?(nan|inf|infinity)\s*[,\]}]|,\s*[\]}]|[0-9.][eE][+-]?[0-9]{3}"

# meta.lastUpdated as FHIR writes an instant, in the range DuckDB and Python convert alike; any other form is
# parsed (or rejected) by the Python readers.
_PLAIN_INSTANT = r"[12][0-9]{3}-[01][0-9]-[0-3][0-9]T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"

# DuckDB's reader numbers the lines it returns, and skips blank ones; a file is given to it only when every line
# starts a JSON object (trailing whitespace aside), so that its numbers are the file's line numbers.
_LINE_NOT_AN_OBJECT = re.compile(rb"\n[^{]")
_PRESCAN_BYTES = 16 * 1024 * 1024

_LOAD_FILE_DDL = """
CREATE OR REPLACE TEMP TABLE load_file (
    file_index INTEGER NOT NULL,
    source_file VARCHAR NOT NULL
)
"""

_STAGED_REJECTED_DDL = """
CREATE OR REPLACE TEMP TABLE staged_rejected (
    source_file VARCHAR NOT NULL,
    source_line BIGINT,
    source_entry BIGINT,
    resource_type VARCHAR,
    resource_id VARCHAR,
    reason VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    raw_text VARCHAR NOT NULL
)
"""

# The order of two versions, as fhir.compare_versions: 1 newer, -1 older, 0 when the metadata cannot tell.
_VERSION_ORDER_MACRO = """
CREATE OR REPLACE TEMP MACRO fhir_version_order(last_updated, version_id, other_last_updated, other_version_id) AS
CASE
    WHEN last_updated IS NOT NULL AND other_last_updated IS NOT NULL AND last_updated <> other_last_updated
        THEN CASE WHEN last_updated > other_last_updated THEN 1 ELSE -1 END
    WHEN version_id IS NOT NULL AND other_version_id IS NOT NULL AND version_id <> other_version_id
        THEN CASE
            WHEN regexp_full_match(version_id, '[0-9]+') AND regexp_full_match(other_version_id, '[0-9]+')
                THEN CASE
                    WHEN length(ltrim(version_id, '0')) <> length(ltrim(other_version_id, '0'))
                        THEN CASE WHEN length(ltrim(version_id, '0')) > length(ltrim(other_version_id, '0')) THEN 1 ELSE -1 END
                    ELSE CASE WHEN ltrim(version_id, '0') > ltrim(other_version_id, '0') THEN 1 ELSE -1 END
                END
            ELSE CASE WHEN version_id > other_version_id THEN 1 ELSE -1 END
        END
    ELSE 0
END
"""


def _stage_ndjson_sql() -> str:
    # Members of each line, parsed once: the whole value (compact), resourceType, id, meta, versionId, lastUpdated.
    plain_types = ", ".join(f"'{name}'" for name in sorted(RESOURCE_TYPES - {"Bundle"}))
    plain_resource = f"""
        starts_with(member[1], '{{')
        AND starts_with(member[2], '"') AND member[2]->>'$' IN ({plain_types})
        AND starts_with(member[3], '"') AND member[3] <> '""'
        AND (member[4] IS NULL OR starts_with(member[4], '{{'))
        AND (member[5] IS NULL OR starts_with(member[5], '"'))
        AND (member[6] IS NULL OR (
            starts_with(member[6], '"')
            AND regexp_full_match(member[6]->>'$', '{_PLAIN_INSTANT}')
            AND TRY_CAST(member[6]->>'$' AS TIMESTAMPTZ) IS NOT NULL
        ))
    """
    no_urn_reference = """NOT contains(member[1], '"reference":"urn:')"""
    return f"""
    INSERT INTO staged_line
    SELECT
        $slot,
        -- The compact JSON when the line is written otherwise: most lines are compact already, kept once.
        CASE WHEN line = member[1] THEN NULL ELSE member[1] END AS compact,
        line,
        member[2]->>'$' AS resource_type,
        member[3]->>'$' AS id,
        member[5]->>'$' AS version_id,
        -- The session is UTC (connection.connect), so this is the instant's UTC wall time.
        TRY_CAST(member[6]->>'$' AS TIMESTAMPTZ)::TIMESTAMP AS last_updated,
        CASE
            WHEN member IS NULL THEN {_REREAD_FILE}
            -- A line written as DuckDB writes it (compact, as most exports are) takes one scan for both lenient
            -- JSON and a urn: reference; a line that matches either is looked at as any other.
            WHEN line = member[1] AND NOT regexp_matches(line, '{_LENIENT_JSON}|"reference":"urn:')
                THEN CASE WHEN {plain_resource} THEN NULL ELSE {_HAND_BACK} END
            WHEN regexp_matches(line, '{_LENIENT_JSON}') THEN {_REREAD_FILE}
            WHEN {plain_resource} AND {no_urn_reference} THEN NULL
            ELSE {_HAND_BACK}
        END AS mark
    FROM (
        SELECT
            json AS line,
            json_extract(json, ['$', '$.resourceType', '$.id', '$.meta', '$.meta.versionId', '$.meta.lastUpdated'])
                AS member
        FROM read_ndjson_objects(
            $path, format = 'newline_delimited', ignore_errors = true, compression = $compression,
            maximum_object_size = $maximum_object_size
        )
    )
    """


# The staged lines of the files DuckDB read, then lines of the next file appended after them, in the order the
# reader returned them, which is the file's (the connection preserves insertion order). JSON columns, so that
# nothing is parsed again on the way to raw_resource.
_STAGED_LINE_DDL = """
CREATE OR REPLACE TEMP TABLE staged_line (
    slot INTEGER NOT NULL,
    compact JSON,
    line JSON,
    resource_type VARCHAR,
    id VARCHAR,
    version_id VARCHAR,
    last_updated TIMESTAMP,
    mark INTEGER
)
"""

# The staged reads of files whose lines are numbered by their order (slot: one per read), and the position of each
# one's first line.
_STAGED_FILE_DDL = """
CREATE OR REPLACE TEMP TABLE staged_file (
    slot INTEGER NOT NULL,
    source_file VARCHAR NOT NULL,
    lines_before BIGINT NOT NULL
)
"""

# Each staged line with its file and its number there: ``row_number() OVER ()`` over the whole table, which DuckDB
# computes while scanning, in parallel; filters go outside, so that they do not change the numbers. Lines of files
# the Python readers read instead have no staged_file and drop out.
_NUMBERED_STAGED_LINE = """(
    SELECT l.*, f.source_file, l.position - f.lines_before AS line_number
    FROM (SELECT row_number() OVER () AS position, * FROM staged_line) AS l
    JOIN staged_file AS f USING (slot)
)"""

_LAND_STAGED_LINES_SQL = f"""
INSERT INTO raw_resource
SELECT resource_type, id, version_id, last_updated, hash(resource), resource, source_file, line_number, NULL, $load_id
FROM (SELECT *, coalesce(compact, line) AS resource FROM {_NUMBERED_STAGED_LINE})
WHERE mark IS NULL
"""

STAGED_BYTES = 512 * 1024 * 1024
"""The lines staged before they go to ``raw_resource`` in one statement: one statement for many small files leaves
the transaction fewer part-filled row groups to write out, one by one, when it commits; the bound keeps the staging
table, which spills to disk beyond the memory limit, in memory."""


class ReadByPythonInstead(Exception):
    """DuckDB's statement for ``path`` failed, which aborts the load's transaction: the caller rolls back and
    loads again with the file read by the Python readers (the file changed while it was read, say)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"DuckDB could not read {path}; it is read by the Python readers instead")
        self.path = path


class Lander:
    """Lands files into ``raw_resource`` (:meth:`stage`; NDJSON lines DuckDB reads by way of ``staged_line``, moved
    on every ``STAGED_BYTES`` and at the end), then settles each key (:meth:`land`).

    Everything runs in the caller's transaction, with the load's id (``raw_resource.load_id``) telling the load's
    rows from the stored ones; the caller calls :meth:`close` at the end, whatever happened. ``read_by_python``
    names files to be read by the Python readers whatever they look like (see :class:`ReadByPythonInstead`).
    """

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        *,
        chunk_size: int,
        load_id: int,
        read_by_python: frozenset[Path] = frozenset(),
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk size must be at least 1, not {chunk_size}")
        self.connection = connection
        self.chunk_size = chunk_size
        self.load_id = load_id
        self.read_by_python = read_by_python
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.reasons: Counter[str] = Counter()
        self._resources: list[tuple[Resource, str]] = []
        self._rejected: list[tuple[Rejected, str]] = []
        self._files: list[str] = []
        self._staged_lines = 0
        self._staged_bytes = 0
        self._staged_files = 0
        self._staged_hand_backs = 0
        self._slots = 0
        for statement in (
            _LOAD_FILE_DDL,
            _STAGED_REJECTED_DDL,
            _STAGED_LINE_DDL,
            _STAGED_FILE_DDL,
            _VERSION_ORDER_MACRO,
        ):
            run(connection, statement)

    def close(self) -> None:
        for table in (
            "load_file",
            "staged_rejected",
            "staged_key_repeat",
            "staged_outcome",
            "staged_line",
            "staged_file",
            "staged_hand_back",
        ):
            run(self.connection, f"DROP TABLE IF EXISTS temp.{table}")
        run(self.connection, "DROP MACRO IF EXISTS temp.fhir_version_order")

    def stage(self, path: Path, progress: ProgressCallback | None = None, progress_every: int = 2_000) -> int:
        """Land one file's records in ``raw_resource`` (and its rejected ones in a temporary table); returns its
        size in bytes. Raises :class:`ReadByPythonInstead` when DuckDB's statement for it fails."""
        source = SourceFile(path)
        file_index = len(self._files)
        self._files.append(str(path))
        run(self.connection, "INSERT INTO load_file VALUES (?, ?)", [file_index, str(path)])
        # Small files too: DuckDB's statement costs milliseconds, while the Python path's first Arrow batch makes
        # DuckDB import pandas, which costs a second or more.
        if path not in self.read_by_python and source.is_ndjson() and self._stage_ndjson(source, file_index):
            if progress is not None:
                progress(source.size, path)
            return source.size
        reported = 0
        for count, record in enumerate(source.records(), start=1):
            self._add(record, str(path))
            if progress is not None and count % progress_every == 0:
                position = source.bytes_read
                progress(position - reported, path)
                reported = position
        self._flush()
        if progress is not None:
            progress(source.size - reported, path)
        return source.size

    def _stage_ndjson(self, source: SourceFile, file_index: int) -> bool:
        """Stage an NDJSON file's lines through DuckDB's reader; False when the file must be read by the Python
        readers.

        The lines go to ``staged_line`` with their members and whether SQL vouches for each, on every core;
        :meth:`_land_staged` numbers them and moves them on. (Numbering the lines as they are read, ``WITH
        ORDINALITY``, would keep the whole read on one thread.)"""
        source_file = str(source.path)
        for maximum_object_size in (FIRST_READ_LINE_BYTES, MAX_LINE_BYTES):
            slot = self._slots
            self._slots += 1
            try:
                run(
                    self.connection,
                    _STAGE_NDJSON_SQL,
                    {
                        "slot": slot,
                        "path": source_file,
                        "compression": "gzip" if source.compressed else "none",
                        "maximum_object_size": maximum_object_size,
                    },
                )
                lines, text_bytes, reread, hand_back = self.connection.execute(
                    f"""
                    SELECT count(*), coalesce(sum(strlen(line)), 0), count(*) FILTER (WHERE mark = {_REREAD_FILE}),
                           count(*) FILTER (WHERE mark = {_HAND_BACK})
                    FROM staged_line WHERE slot = ?
                    """,
                    [slot],
                ).fetchall()[0]
            except duckdb.Error as error:
                raise ReadByPythonInstead(source.path) from error
            # The lines stay staged either way: the numbers of the lines after them count them.
            lines_before = self._staged_lines
            self._staged_lines += lines
            self._staged_bytes += text_bytes
            if not reread:
                break
        numbered = not reread and _lines_are_the_files_lines(source, text_bytes=text_bytes, lines=lines)
        if numbered:
            run(self.connection, "INSERT INTO staged_file VALUES (?, ?, ?)", [slot, source_file, lines_before])
            self._staged_files += 1
            self._staged_hand_backs += hand_back
        if self._staged_bytes >= STAGED_BYTES:
            self._land_staged()
        return numbered

    def _land_staged(self) -> None:
        """Move the staged lines SQL vouches for into ``raw_resource``, numbered, in one statement; hand the others
        to the Python readers; start the staging afresh."""
        if self._staged_hand_backs:
            self._hand_back()
        if self._staged_files:
            run(self.connection, _LAND_STAGED_LINES_SQL, {"load_id": self.load_id})
        if self._staged_lines:
            run(self.connection, _STAGED_LINE_DDL)
            run(self.connection, _STAGED_FILE_DDL)
        self._staged_lines = 0
        self._staged_bytes = 0
        self._staged_files = 0
        self._staged_hand_backs = 0

    def _hand_back(self) -> None:
        """Land the staged lines DuckDB parsed but the SQL checks left to the Python readers, from their parsed
        JSON."""
        run(
            self.connection,
            f"""
            CREATE OR REPLACE TEMP TABLE staged_hand_back AS
            SELECT row_number() OVER (ORDER BY position) - 1 AS position, source_file, line_number AS source_line,
                   coalesce(compact, line)::VARCHAR AS resource
            FROM {_NUMBERED_STAGED_LINE}
            WHERE mark = {_HAND_BACK}
            """,
        )
        total = int(scalar(self.connection, "SELECT count(*) FROM staged_hand_back"))
        for start in range(0, total, self.chunk_size):
            lines = self.connection.execute(
                """
                SELECT source_file, source_line, resource FROM staged_hand_back
                WHERE position >= ? AND position < ? ORDER BY position
                """,
                [start, start + self.chunk_size],
            ).fetchall()
            for source_file, source_line, text in lines:
                for record in records_from_json(text, source_line=source_line):
                    self._add(record, source_file)
        self._flush()
        run(self.connection, "DROP TABLE staged_hand_back")

    def _add(self, record: Resource | Rejected, source_file: str) -> None:
        if isinstance(record, Resource):
            self._resources.append((record, source_file))
        else:
            self._rejected.append((record, source_file))
        if len(self._resources) + len(self._rejected) >= self.chunk_size:
            self._flush()

    def _flush(self) -> None:
        if self._resources:
            _stage_resources(self.connection, self._resources, self.load_id)
            self._resources = []
        if self._rejected:
            _stage_rejected(self.connection, self._rejected)
            self._rejected = []

    def land(self) -> None:
        """Settle each key of the load's records in ``raw_resource``, quarantine the rejected ones, and drop older
        quarantine rows of the files read: the quarantine says what is wrong with each file as last loaded, so a
        fixed file reloaded leaves none behind and a reload adds no repeats."""
        self._land_staged()
        self._flush()
        self.outcomes.update(merge_resources(self.connection, self.load_id))
        rejected = land_quarantine(self.connection, self.load_id, self._files)
        for (resource_type, reason), count in rejected.items():
            self.outcomes[(resource_type or UNKNOWN_RESOURCE_TYPE, QUARANTINED)] += count
            self.reasons[reason] += count

    def changed_resource_types(self) -> set[str]:
        """The resource types with a row of ``raw_resource`` added or replaced."""
        return {
            resource_type for (resource_type, outcome), count in self.outcomes.items() if outcome in (NEW, REPLACED)
        }

    def counts(self) -> dict[str, ResourceTypeCounts]:
        by_type: dict[str, Counter[str]] = {}
        for (resource_type, outcome), count in self.outcomes.items():
            by_type.setdefault(resource_type, Counter())[outcome] += count
        return {
            resource_type: ResourceTypeCounts(
                read=sum(outcomes.values()),
                new=outcomes[NEW],
                replaced=outcomes[REPLACED],
                unchanged=outcomes[UNCHANGED],
                stale=outcomes[STALE],
                quarantined=outcomes[QUARANTINED],
            )
            for resource_type, outcomes in sorted(by_type.items())
        }


_STAGE_NDJSON_SQL = _stage_ndjson_sql()


def _lines_are_the_files_lines(source: SourceFile, *, text_bytes: int, lines: int) -> bool:
    """Whether the ``lines`` DuckDB's reader returned, ``text_bytes`` long in all, are every line of the file, so that
    their order numbers them: the reader skips blank lines and trims whitespace around a line.

    A plain file whose size is exactly those lines and a newline after each (but perhaps the last) has no byte
    left for a blank line, which settles it without reading the file again; otherwise (a compressed file, a
    carriage return before each newline) the file's bytes are scanned."""
    if not source.compressed and lines:
        with source.path.open("rb") as file:
            file.seek(-1, SEEK_END)
            ends_with_newline = file.read(1) == b"\n"
        if source.size == text_bytes + lines - (0 if ends_with_newline else 1):
            return True
    return _every_line_starts_an_object(source)


def _every_line_starts_an_object(source: SourceFile) -> bool:
    """Whether every line of the file starts with ``{``, whitespace at its end aside: no blank line, nothing but
    objects. A scan of the bytes (decompressed when gzip), much cheaper than parsing them; False also for a file
    that cannot be read to its end, which the Python readers then read as far as they can."""
    try:
        with source.open_stream() as stream:
            return _lines_start_objects(stream)
    except (EOFError, OSError, zlib.error):
        return False


def _lines_start_objects(stream: IO[bytes]) -> bool:
    previous = b"\n"  # the first line is checked like every other
    only_whitespace_may_follow = False
    while chunk := stream.read(_PRESCAN_BYTES):
        if only_whitespace_may_follow:
            if chunk.strip():
                return False
            continue
        data = previous + chunk
        match = _LINE_NOT_AN_OBJECT.search(data)
        if match is not None:
            if data[match.start() :].strip():
                return False
            only_whitespace_may_follow = True
        previous = chunk[-1:]
    return True


def _stage_resources(connection: duckdb.DuckDBPyConnection, rows: list[tuple[Resource, str]], load_id: int) -> None:
    batch = pa.table(
        {
            "source_file": pa.array([source for _, source in rows], pa.string()),
            "source_line": pa.array([r.source_line for r, _ in rows], pa.int64()),
            "source_entry": pa.array([r.source_entry for r, _ in rows], pa.int64()),
            "resource_type": pa.array([r.resource_type for r, _ in rows], pa.string()),
            "id": pa.array([r.id for r, _ in rows], pa.string()),
            "version_id": pa.array([r.version_id for r, _ in rows], pa.string()),
            # Naive UTC: the warehouse's TIMESTAMP columns are UTC by contract.
            "last_updated": pa.array(
                [r.last_updated.replace(tzinfo=None) if r.last_updated else None for r, _ in rows],
                pa.timestamp("us"),
            ),
            "body": pa.array([r.body for r, _ in rows], pa.binary()).cast(pa.string()),
        }
    )
    connection.register("resource_batch", batch)
    try:
        # json_extract(body, '$') stores the same compact form the NDJSON path stores, so the hash agrees.
        run(
            connection,
            """
            INSERT INTO raw_resource
            SELECT resource_type, id, version_id, last_updated, hash(resource), resource,
                   source_file, source_line, source_entry, ?
            FROM (SELECT *, json_extract(body, '$') AS resource FROM resource_batch)
            """,
            [load_id],
        )
    finally:
        connection.unregister("resource_batch")


def _stage_rejected(connection: duckdb.DuckDBPyConnection, rejected: list[tuple[Rejected, str]]) -> None:
    batch = pa.table(
        {
            "source_file": pa.array([source for _, source in rejected], pa.string()),
            "source_line": pa.array([record.source_line for record, _ in rejected], pa.int64()),
            "source_entry": pa.array([record.source_entry for record, _ in rejected], pa.int64()),
            "resource_type": pa.array([record.resource_type for record, _ in rejected], pa.string()),
            "resource_id": pa.array([record.resource_id for record, _ in rejected], pa.string()),
            "reason": pa.array([str(record.reason) for record, _ in rejected], pa.string()),
            "detail": pa.array([record.detail for record, _ in rejected], pa.string()),
            "raw_text": pa.array([record.raw_text for record, _ in rejected], pa.string()),
        }
    )
    connection.register("rejected_batch", batch)
    try:
        run(connection, "INSERT INTO staged_rejected SELECT * FROM rejected_batch")
    finally:
        connection.unregister("rejected_batch")


def merge_resources(connection: duckdb.DuckDBPyConnection, load_id: int) -> Counter[tuple[str, str]]:
    """Settle the load's records (the rows of ``raw_resource`` with ``load_id``) against the stored versions:
    delete the stored rows they supersede and the records that do not win; returns how many records of each
    resource type had each outcome."""
    loaded = f"(SELECT * FROM raw_resource WHERE load_id = {int(load_id)})"
    stored = f"""(
        SELECT resource_type, id, version_id, last_updated, content_hash FROM raw_resource
        WHERE load_id <> {int(load_id)}
    )"""
    run(
        connection,
        f"""
        CREATE OR REPLACE TEMP TABLE staged_key_repeat AS
        SELECT resource_type, id FROM {loaded} GROUP BY resource_type, id HAVING count(*) > 1
        """,
    )
    run(
        connection,
        f"""
        CREATE OR REPLACE TEMP TABLE staged_outcome AS
        SELECT source_file, source_line, entry_order, resource_type, id, outcome, outcome IN ('{NEW}', '{REPLACED}') AS winner, stored
        FROM (
            SELECT
                s.source_file, s.source_line, coalesce(s.source_entry, -1) AS entry_order, s.resource_type, s.id,
                CASE
                    WHEN r.id IS NULL THEN '{NEW}'
                    WHEN fhir_version_order(s.last_updated, s.version_id, r.last_updated, r.version_id) > 0 THEN '{REPLACED}'
                    WHEN fhir_version_order(s.last_updated, s.version_id, r.last_updated, r.version_id) < 0 THEN '{STALE}'
                    WHEN s.content_hash = r.content_hash THEN '{UNCHANGED}'
                    ELSE '{REPLACED}'
                END AS outcome,
                r.id IS NOT NULL AS stored
            FROM {loaded} AS s
            ANTI JOIN staged_key_repeat AS k ON k.resource_type = s.resource_type AND k.id = s.id
            LEFT JOIN {stored} AS r ON r.resource_type = s.resource_type AND r.id = s.id
        )
        """,
    )
    _replay_repeated_keys(connection, loaded, stored)
    if scalar(connection, "SELECT count(*) FROM staged_outcome WHERE winner AND stored"):
        run(
            connection,
            """
            DELETE FROM raw_resource
            USING (SELECT resource_type, id FROM staged_outcome WHERE winner AND stored) AS o
            WHERE raw_resource.load_id <> ? AND raw_resource.resource_type = o.resource_type AND raw_resource.id = o.id
            """,
            [load_id],
        )
    if scalar(connection, "SELECT count(*) FROM staged_outcome WHERE NOT winner"):
        run(
            connection,
            """
            DELETE FROM raw_resource
            USING (SELECT * FROM staged_outcome WHERE NOT winner) AS o
            WHERE raw_resource.load_id = ? AND raw_resource.source_file = o.source_file
                AND raw_resource.source_line IS NOT DISTINCT FROM o.source_line
                AND coalesce(raw_resource.source_entry, -1) = o.entry_order
            """,
            [load_id],
        )
    rows = connection.execute("SELECT resource_type, outcome, count(*) FROM staged_outcome GROUP BY ALL").fetchall()
    return Counter({(resource_type, outcome): int(count) for resource_type, outcome, count in rows})


def _replay_repeated_keys(connection: duckdb.DuckDBPyConnection, loaded: str, stored: str) -> None:
    """Apply the records of each key that occurs more than once in the load one by one, in load order."""
    rows = connection.execute(
        f"""
        SELECT s.source_file, s.source_line, coalesce(s.source_entry, -1), s.resource_type, s.id,
               s.last_updated, s.version_id, s.content_hash,
               r.last_updated, r.version_id, r.content_hash, r.id IS NOT NULL
        FROM {loaded} AS s
        JOIN load_file AS f ON f.source_file = s.source_file
        SEMI JOIN staged_key_repeat AS k ON k.resource_type = s.resource_type AND k.id = s.id
        LEFT JOIN {stored} AS r ON r.resource_type = s.resource_type AND r.id = s.id
        ORDER BY s.resource_type, s.id, f.file_index, s.source_line, coalesce(s.source_entry, -1)
        """
    ).fetchall()
    if not rows:
        return
    decided: list[tuple[Any, ...]] = []
    winner_of_key: dict[tuple[str, str], int] = {}
    current: tuple[Any, ...] | None = None
    key: tuple[str, str] | None = None
    for row in rows:
        source_file, source_line, entry_order, resource_type, resource_id = row[:5]
        version, stored_version, exists = tuple(row[5:8]), tuple(row[8:11]), bool(row[11])
        if (resource_type, resource_id) != key:
            key = (resource_type, resource_id)
            current = stored_version if exists else None
        outcome = _outcome(version, current)
        if outcome in (NEW, REPLACED):
            current = version
            winner_of_key[key] = len(decided)
        decided.append((source_file, source_line, entry_order, resource_type, resource_id, outcome, exists))
    winners = set(winner_of_key.values())
    columns = list(zip(*decided, strict=True))
    batch = pa.table(
        {
            "source_file": pa.array(columns[0], pa.string()),
            "source_line": pa.array(columns[1], pa.int64()),
            "entry_order": pa.array(columns[2], pa.int64()),
            "resource_type": pa.array(columns[3], pa.string()),
            "id": pa.array(columns[4], pa.string()),
            "outcome": pa.array(columns[5], pa.string()),
            "winner": pa.array([index in winners for index in range(len(decided))], pa.bool_()),
            "stored": pa.array(columns[6], pa.bool_()),
        }
    )
    connection.register("repeated_outcome", batch)
    try:
        run(connection, "INSERT INTO staged_outcome SELECT * FROM repeated_outcome")
    finally:
        connection.unregister("repeated_outcome")


def _outcome(version: tuple[Any, ...], current: tuple[Any, ...] | None) -> str:
    if current is None:
        return NEW
    last_updated, version_id, content_hash = version
    order = compare_versions(last_updated, version_id, current[0], current[1])
    if order > 0:
        return REPLACED
    if order < 0:
        return STALE
    return UNCHANGED if content_hash == current[2] else REPLACED


def land_quarantine(
    connection: duckdb.DuckDBPyConnection, load_id: int, files: Sequence[str]
) -> Counter[tuple[str | None, str]]:
    """Move ``staged_rejected`` into ``quarantine`` and drop the earlier quarantine rows of ``files``; returns how
    many records of each resource type (None when unknown) were rejected for each reason."""
    run(connection, "INSERT INTO quarantine SELECT *, ? FROM staged_rejected", [load_id])
    if files:
        run(
            connection,
            "DELETE FROM quarantine WHERE load_id <> ? AND source_file IN (SELECT unnest(?::VARCHAR[]))",
            [load_id, list(files)],
        )
    rows = connection.execute("SELECT resource_type, reason, count(*) FROM staged_rejected GROUP BY ALL").fetchall()
    return Counter({(resource_type, reason): int(count) for resource_type, reason, count in rows})
