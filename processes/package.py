"""A process package as uploaded: a folder, a zip (path or bytes) or an uploaded folder's files.

Reading never raises on bad input: whatever cannot be read becomes a problem naming the file, so the
upload page and `tsunagu validate` can list everything at once. A SpiffArena process-model folder's
`process_model.json` is read for its display name and primary process; the folder's name never matters.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tsunagu.engine.errors import DefinitionProblem

DEFINITION_SUFFIXES = (".bpmn", ".dmn", ".json")
SPIFFARENA_META = "process_model.json"
MAX_FILES = 200
MAX_TOTAL_BYTES = 5 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed size of one zip member: more is a zip bomb, not a diagram
META_KEYS = ("display_name", "primary_process_id", "primary_file_name", "description")


@dataclass(frozen=True)
class Package:
    """The definition files of one process package, its SpiffArena metadata, and what could not be read."""

    files: dict[str, str]
    meta: dict[str, str] = field(default_factory=dict)
    problems: list[DefinitionProblem] = field(default_factory=list)


def read_package(source: Path | str | bytes | dict[str, bytes]) -> Package:
    """Read a package from a folder, a .zip file, zip bytes, or a dict of uploaded file names to bytes."""
    problems: list[DefinitionProblem] = []
    if isinstance(source, dict):
        raw = _from_upload(source, problems)
    elif isinstance(source, bytes):
        raw = _from_zip(source, "upload.zip", problems)
    else:
        path = Path(source)
        if path.is_dir():
            raw = _from_folder(path, problems)
        elif path.is_file() and path.suffix.lower() == ".zip":
            raw = _from_zip(_read_bytes(path, problems), path.name, problems)
        elif path.is_file():  # one diagram: it and the DMN and form files beside it
            raw = {p.name: _read_bytes(p, problems) for p in sorted(path.parent.iterdir())
                   if p.is_file() and (p == path or p.suffix in (".dmn", ".json"))}
        else:
            problems.append(DefinitionProblem(str(path), None, "path_not_found", "no such file or folder"))
            raw = {}
    files = {}
    for name, data in raw.items():
        text = _decode(name, data, problems)
        if text is not None:
            files[name] = text
    meta = _meta(files, problems)
    return Package(files=files, meta=meta, problems=problems)


def _read_bytes(path: Path, problems: list[DefinitionProblem]) -> bytes:
    try:
        if path.stat().st_size > MAX_TOTAL_BYTES:
            problems.append(DefinitionProblem(path.name, None, "package_too_large",
                                              f"the file is larger than {MAX_TOTAL_BYTES // 1024 // 1024} MB"))
            return b""
        return path.read_bytes()
    except OSError as exc:
        problems.append(DefinitionProblem(path.name, None, "file_unreadable", exc.strerror or str(exc)))
        return b""


def _from_folder(folder: Path, problems: list[DefinitionProblem]) -> dict[str, bytes]:
    paths = [p for p in sorted(folder.iterdir()) if p.is_file() and _wanted(p.name)]
    return _limited({p.name: _read_bytes(p, problems) for p in paths[:MAX_FILES + 1]}, problems)


def _from_upload(upload: dict[str, bytes], problems: list[DefinitionProblem]) -> dict[str, bytes]:
    # Browsers send a folder's files with their relative paths; only the base name matters.
    named = {}
    for name, data in upload.items():
        safe = _safe_name(name, problems)
        if safe is not None:
            named.setdefault(PurePosixPath(safe), data)
    return _limited(_flatten(named, problems), problems)


def _from_zip(data: bytes, label: str, problems: list[DefinitionProblem]) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        problems.append(DefinitionProblem(label, None, "zip_invalid", f"not a readable zip file: {exc}"))
        return {}
    if len(members) > MAX_FILES:
        problems.append(DefinitionProblem(label, None, "package_too_many_files",
                                          f"a package holds at most {MAX_FILES} files, this one {len(members)}"))
        return {}
    if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
        problems.append(DefinitionProblem(label, None, "package_too_large",
                                          f"a package holds at most {MAX_TOTAL_BYTES // 1024 // 1024} MB unpacked"))
        return {}
    named: dict[PurePosixPath, bytes] = {}
    for member in members:
        safe = _safe_name(member.filename, problems)
        if safe is None:
            continue
        if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
            problems.append(DefinitionProblem(safe, None, "zip_ratio_too_high",
                                              "the file is compressed suspiciously well; unpack and upload it"))
            continue
        try:
            content = archive.read(member)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            problems.append(DefinitionProblem(safe, None, "zip_invalid", f"the file cannot be unpacked: {exc}"))
            continue
        if len(content) > MAX_TOTAL_BYTES:  # a member lying about its size
            problems.append(DefinitionProblem(safe, None, "package_too_large", "the file is too large"))
            continue
        named[PurePosixPath(safe)] = content
    return _flatten(named, problems)


def _safe_name(name: str, problems: list[DefinitionProblem]) -> str | None:
    """The member's path if it is a definition file worth reading; None for what is skipped or refused."""
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":") or ".." in path.parts:
        problems.append(DefinitionProblem(name, None, "zip_path_unsafe",
                                          "file paths in a package may not be absolute or contain '..'"))
        return None
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts) or not _wanted(path.name):
        return None
    return clean


def _wanted(name: str) -> bool:
    return not name.startswith(".") and name.endswith(DEFINITION_SUFFIXES)


def _flatten(named: dict[PurePosixPath, bytes], problems: list[DefinitionProblem]) -> dict[str, bytes]:
    """Files of subfolders keep only their base name, unless two share it (then both are reported)."""
    by_name: dict[str, list[PurePosixPath]] = {}
    for path in named:
        by_name.setdefault(path.name, []).append(path)
    flat = {}
    for name, paths in sorted(by_name.items()):
        if len(paths) > 1:
            problems.append(DefinitionProblem(name, None, "file_name_ambiguous",
                                              "several folders of the package hold a file of this name ("
                                              + ", ".join(sorted(str(p) for p in paths))
                                              + "); upload one process folder at a time"))
            continue
        flat[name] = named[paths[0]]
    return flat


def _limited(raw: dict[str, bytes], problems: list[DefinitionProblem]) -> dict[str, bytes]:
    if len(raw) > MAX_FILES:
        problems.append(DefinitionProblem("", None, "package_too_many_files",
                                          f"a package holds at most {MAX_FILES} files"))
        return {}
    if sum(len(v) for v in raw.values()) > MAX_TOTAL_BYTES:
        problems.append(DefinitionProblem("", None, "package_too_large",
                                          f"a package holds at most {MAX_TOTAL_BYTES // 1024 // 1024} MB"))
        return {}
    return raw


def _decode(name: str, data: bytes, problems: list[DefinitionProblem]) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(DefinitionProblem(name, None, "file_unreadable",
                                          f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8"))
        return None
    if "\x00" in text:
        problems.append(DefinitionProblem(name, None, "file_unreadable", "the file holds NUL bytes; it is not text"))
        return None
    return text.removeprefix("\ufeff")


def _meta(files: dict[str, str], problems: list[DefinitionProblem]) -> dict[str, str]:
    if SPIFFARENA_META not in files:
        return {}
    try:
        document = json.loads(files[SPIFFARENA_META])
    except json.JSONDecodeError as exc:
        problems.append(DefinitionProblem(SPIFFARENA_META, None, "meta_invalid",
                                          f"line {exc.lineno}: {exc.msg}", line=exc.lineno))
        return {}
    if not isinstance(document, dict):
        problems.append(DefinitionProblem(SPIFFARENA_META, None, "meta_invalid", "expected a JSON object"))
        return {}
    return {key: str(document[key]) for key in META_KEYS if isinstance(document.get(key), (str, int))
            and str(document[key]).strip()}
