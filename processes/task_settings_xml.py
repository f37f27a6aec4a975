"""Small edits to a BPMN file that keep everything else as the modeller wrote it.

`TreeEditor` changes an lxml tree (a property, the instructions, a task's lane), indenting what it adds like
its neighbours. `splice` then carries the change into the original text: lxml serialises the tree before and
after the edit, the two serialisations are compared line by line, and only the lines that differ are taken
from the new one; every other line is the original's, byte for byte (lxml would otherwise rewrite the XML
declaration, `<a />` as `<a/>` and so on). Within a changed line, the unchanged characters are kept too.
"""
from __future__ import annotations

import difflib
import re

from lxml import etree

from tsunagu.engine.errors import DefinitionInvalid, DefinitionProblem

from .bpmn_reading import BPMN, SPIFF, local_name

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False,
                          remove_pis=False, load_dtd=False, strip_cdata=False)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_PROLOG = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.DOTALL)
_TIGHT_CLOSE = re.compile(r"(?<=[^\s/])/>")
_MARKUP = r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
_TOKEN = re.compile(rf"[^<]*(?:{_MARKUP})|[^<]+$", re.DOTALL)
_OPEN_TAG = re.compile(r"<([^\s/>!?]+)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>$")
_MARKUP_NAME = re.compile(r"<(?:!--|!\[CDATA\[|\?|/?[^\s/>]+)")


def parse_for_editing(name: str, text: str) -> etree._Element:
    """Parse one BPMN file keeping comments and CDATA (no entities, no network); broken XML names the file."""
    try:
        return etree.fromstring(_DECLARATION.sub("", text, count=1).encode("utf-8"), _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DefinitionInvalid([DefinitionProblem(name, None, "xml_invalid", str(exc))]) from exc


class TreeEditor:
    """Edits of the tasks of one parsed BPMN file."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.unit = "  "

    def element(self, element_id: str) -> etree._Element:
        found = next(el for el in self.root.iter(f"{{{BPMN}}}userTask", f"{{{BPMN}}}manualTask")
                     if el.get("id") == element_id)
        self.unit = _unit(found)
        return found

    def set_property(self, task: etree._Element, name: str, value: str | None) -> None:
        """Set (or with None remove) one `spiffworkflow:property` of the task."""
        props = self._extension(task, "properties", create=value is not None)
        if props is None:
            return
        existing = [p for p in props if isinstance(p.tag, str) and local_name(p) == "property" and p.get("name") == name]
        if value is None:
            for p in existing:
                _remove(p)
            return
        if existing:
            existing[0].set("value", value)
            if existing[0].text and not len(existing[0]):
                existing[0].text = None  # the value was written as text: it is an attribute now
            return
        prop = etree.SubElement(props, f"{{{SPIFF}}}property")
        prop.set("name", name)
        prop.set("value", value)
        _place_last(props, prop, self.unit)

    def set_instructions(self, task: etree._Element, text: str | None) -> None:
        """Set (or with None remove) the task's `spiffworkflow:instructionsForEndUser`."""
        ext = self._extension_elements(task, create=text is not None)
        if ext is None:
            return
        found = [c for c in ext if isinstance(c.tag, str) and local_name(c) == "instructionsForEndUser"]
        if text is None:
            for c in found:
                _remove(c)
            return
        if found:
            found[0].text = text
            return
        element = self._spiff_child(ext, "instructionsForEndUser")
        element.text = text
        _place_last(ext, element, self.unit)

    def move_to_lane(self, task: etree._Element, lane_id: str) -> None:
        """Put the task in the lane (and its enclosing lanes) of its process, out of every other lane."""
        process = next(a for a in task.iterancestors(f"{{{BPMN}}}process"))
        task_id = task.get("id")
        target = None
        for lane in process.iter(f"{{{BPMN}}}lane"):
            if lane.get("id") == lane_id:
                target = lane
            for ref in lane.findall(f"{{{BPMN}}}flowNodeRef"):
                if (ref.text or "").strip() == task_id:
                    _remove(ref)
        assert target is not None  # noqa: S101  (the lane was checked against this process's lanes)
        lanes = [target, *[a for a in target.iterancestors(f"{{{BPMN}}}lane")]]
        for lane in lanes:
            ref = etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef")
            ref.text = task_id
            refs = lane.findall(f"{{{BPMN}}}flowNodeRef")[:-1]
            children = [c for c in lane if c is not ref]
            if refs:
                _place_after(refs[-1], ref)
            elif any(local_name(c) == "childLaneSet" for c in children if isinstance(c.tag, str)):
                _place_before(next(c for c in children if isinstance(c.tag, str) and local_name(c) == "childLaneSet"),
                              ref)
            else:
                _place_last(lane, ref, _unit(lane))

    def _extension_elements(self, task: etree._Element, *, create: bool) -> etree._Element | None:
        ext = task.find(f"{{{BPMN}}}extensionElements")
        if ext is not None or not create:
            return ext
        ext = etree.SubElement(task, f"{{{BPMN}}}extensionElements")
        docs = task.findall(f"{{{BPMN}}}documentation")
        others = [c for c in task if c is not ext and isinstance(c.tag, str) and local_name(c) != "documentation"]
        if docs:
            _place_after(docs[-1], ext)
        elif others:
            _place_before(others[0], ext)
        else:
            _place_last(task, ext, self.unit)
        return ext

    def _extension(self, task: etree._Element, name: str, *, create: bool) -> etree._Element | None:
        ext = self._extension_elements(task, create=create)
        if ext is None:
            return None
        found = next((c for c in ext if isinstance(c.tag, str) and c.tag == f"{{{SPIFF}}}{name}"), None)
        if found is None and create:
            found = self._spiff_child(ext, name)
            _place_last(ext, found, self.unit)
        return found

    def _spiff_child(self, parent: etree._Element, name: str) -> etree._Element:
        declared = SPIFF in (parent.nsmap or {}).values()
        return etree.SubElement(parent, f"{{{SPIFF}}}{name}",
                                nsmap=None if declared else {"spiffworkflow": SPIFF})


def _lead(el: etree._Element) -> str:
    """The line break and indentation written before the element ("" when it shares its line)."""
    prev = el.getprevious()
    text = (prev.tail if prev is not None else el.getparent().text) or ""  # type: ignore[union-attr]
    return text[text.rfind("\n"):] if "\n" in text else ""


def _unit(el: etree._Element) -> str:
    """The file's indentation step, from an element and its first child."""
    child = next((c for c in el if isinstance(c.tag, str)), None)
    outer, inner = _lead(el), _lead(child) if child is not None else ""
    if outer and inner and inner.startswith(outer) and len(inner) > len(outer):
        return inner[len(outer):]
    return "  "


def _remove(el: etree._Element) -> None:
    """Remove the element with its line (the whitespace before it goes, the whitespace after it stays)."""
    parent = el.getparent()
    assert parent is not None  # noqa: S101
    prev = el.getprevious()
    if prev is not None:
        prev.tail = el.tail
    else:
        parent.text = el.tail
    parent.remove(el)


def _place_after(anchor: etree._Element, el: etree._Element) -> None:
    """Move `el` right after `anchor`, on a line of its own indented like it."""
    lead = _lead(anchor)
    _detach(el)
    el.tail = anchor.tail
    anchor.tail = lead or anchor.tail
    anchor.addnext(el)


def _place_before(anchor: etree._Element, el: etree._Element) -> None:
    lead = _lead(anchor)
    _detach(el)
    anchor.addprevious(el)
    el.tail = lead or None


def _place_last(parent: etree._Element, el: etree._Element, unit: str) -> None:
    """Make `el` (already a child) the last child of `parent`, indented one step in from the parent."""
    _detach(el)
    children = list(parent)
    if children:
        last = children[-1]
        el.tail = last.tail
        last.tail = _lead(last) or last.tail
    else:
        outer = _lead(parent)
        parent.text = (outer + unit) if outer else parent.text
        el.tail = outer or None
    parent.append(el)


def _detach(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is not None:
        el.tail = None
        parent.remove(el)


def splice(original: str, before: str, after: str) -> str:
    """The original text with only the markup where `before` and `after` (lxml serialisations of the root
    element, before and after the edit) differ replaced; the whole `after` if the two do not align."""
    start = _root_start(original)
    kept, old, new = _tokens(original[start:]), _tokens(before), _tokens(after)
    if len(kept) < len(old) or any(_name(a) != _name(b) for a, b in zip(kept, old, strict=False)):
        return original[:start] + after + "\n"
    tail = "".join(kept[len(old):])
    crlf = "\r\n" in original
    tight = original.count('"/>') > original.count('" />')
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(kept[i1:i2])
        elif op == "replace" and i2 - i1 == j2 - j1:
            out.extend(_patched(kept[i], old[i], new[j], tight)
                       for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
        else:
            out.extend(_styled(token, crlf, tight) for token in new[j1:j2])
    return original[:start] + "".join(out) + tail


def _tokens(text: str) -> list[str]:
    """The text cut after each tag, comment, CDATA section or processing instruction (the text before a
    piece of markup belongs to it); `<a></a>` is one piece, as lxml writes it `<a/>`."""
    pieces = [m.group(0) for m in _TOKEN.finditer(text) if m.group(0)]
    merged: list[str] = []
    for piece in pieces:
        if merged and piece.startswith("</") and merged[-1].endswith(">") and not merged[-1].endswith("/>"):
            opened = _OPEN_TAG.search(merged[-1])
            if opened and piece == f"</{opened.group(1)}>" and merged[-1].endswith(opened.group(0)):
                merged[-1] += piece
                continue
        merged.append(piece)
    return merged


def _name(token: str) -> str:
    """What a piece of markup is (`<bpmn:userTask`, `</bpmn:userTask`, `<!--`...), to check two texts align."""
    found = _MARKUP_NAME.search(token)
    return found.group(0) if found else token.strip()


def _root_start(text: str) -> int:
    """Where the root element starts: after the declaration, comments, processing instructions, doctype."""
    position = 0
    while (found := _PROLOG.match(text, position)) and found.end() > position:
        position = found.end()
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _patched(kept: str, old: str, new: str, tight: bool) -> str:
    """`kept` (the original of line `old`) with the characters that changed from `old` to `new`."""
    body = kept
    mapping: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, old, body, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            mapping[block.a + k] = block.b + k
    edits = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if i2 > i1:  # characters replaced or deleted
            if i1 not in mapping or i2 - 1 not in mapping:
                return _styled(new, "\r\n" in kept, tight)
            start, stop = mapping[i1], mapping[i2 - 1] + 1
        elif i1 in mapping or i1 - 1 in mapping:  # characters inserted
            start = stop = mapping[i1] if i1 in mapping else mapping[i1 - 1] + 1
        else:
            return _styled(new, "\r\n" in kept, tight)
        edits.append((start, stop, new[j1:j2]))
    for start, stop, text in reversed(edits):
        body = body[:start] + text + body[stop:]
    return body


def _styled(line: str, crlf: bool, tight: bool) -> str:
    """A line lxml wrote, in the file's style: `<a />` unless the file closes empty elements tightly."""
    if not tight and "<![CDATA[" not in line:
        line = _TIGHT_CLOSE.sub(" />", line)
    return line.replace("\n", "\r\n") if crlf else line
