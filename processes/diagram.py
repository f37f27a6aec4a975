"""Draw a process as SVG from its BPMN diagram interchange (the settings are read by `bpmn_reading`).

Pure functions over a package's files (name -> text): no database, no Flask, no JavaScript modeller.
A model without diagram interchange (written by hand) is laid out automatically so every element is
still drawn and clickable.
"""
from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from tsunagu.engine.errors import NotFound

from .bpmn_reading import (
    BPMN,
    EVENTS,
    FLOW_NODES,
    GATEWAYS,
    SETTINGS_KINDS,
    SUBPROCESSES,
    ElementSettings,
    element_settings,
)
from .bpmn_reading import bpmn_roots as _bpmn_roots
from .bpmn_reading import clean as _clean
from .bpmn_reading import local_name as _local
from .bpmn_reading import text_of as _text
from .bpmn_reading import walk as _walk
from .diagram_layout import Box, Edge, Layout, Shape, auto_layout, bounds_of, di_layout, plane_of

__all__ = ["AUTO_LAYOUT_NOTE", "FLOW_NODES", "SETTINGS_KINDS", "ElementSettings", "Mark", "element_settings",
           "render_svg"]

AUTO_LAYOUT_NOTE = "Drawn automatically: this file has no diagram layout."

_OPENING = set("「『（(【〔〈《“")
_CLOSING = set("・：；、。，．,.)）」』】〕〉》！？!?ー々ぁぃぅぇぉっゃゅょァィゥェォッャュョ")


@dataclass(frozen=True)
class Mark:
    """What the page overlays on one element: problems, warnings and the cases waiting there."""

    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    waiting: int = 0
    overdue: int = 0
    count_href: str | None = None
    change: str = ""  # added / changed between two versions (the diff page): coloured apart from warnings


def _esc(text: str | None) -> str:
    return html.escape(_clean(text), quote=True)


# ---------------------------------------------------------------- text

_FONT, _LINE = 12.0, 14.0


def _char_width(ch: str) -> float:
    return _FONT if unicodedata.east_asian_width(ch) in ("W", "F") else _FONT * 0.58


def _wrap(text: str, width: float, max_lines: int = 6) -> list[str]:
    """Lines fitted to `width` and balanced, so no line is left with a lone character."""
    lines = _fill(text, width)
    if 1 < len(lines) <= max_lines:
        total = sum(_char_width(c) for ln in lines for c in ln)
        balanced = _fill(text, min(width, max(total / len(lines) + _FONT, width * 0.5)))
        if len(balanced) == len(lines):
            return balanced
    if len(lines) > max_lines:  # fill the last line with what follows and end it with an ellipsis
        rest, used, last = " ".join(lines[max_lines - 1:]), _FONT, ""
        for ch in rest:
            if used + _char_width(ch) > width:
                break
            last, used = last + ch, used + _char_width(ch)
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


def _fill(text: str, width: float) -> list[str]:
    """Greedy lines: Latin breaks between words, Japanese between any two characters."""
    lines: list[str] = []
    for paragraph in _clean(text).replace("\r", "").split("\n"):
        line, used = "", 0.0
        for token in re.findall(r"[A-Za-z0-9_.,:;!?'\"()\-/@#%&+=*]+\s*|\s+|.", paragraph):
            w = sum(_char_width(c) for c in token)
            if used + w > width and line.strip() and not (len(token) == 1 and token in _CLOSING):
                carry = line[-1] if len(line) > 1 and line[-1] in _OPENING else ""
                lines.append(line[: len(line) - len(carry)].rstrip())
                line, used = carry, sum(_char_width(c) for c in carry)
                token = token.lstrip()
                w = sum(_char_width(c) for c in token)
            while w > width and len(token) > 1:  # a word longer than the line: cut it
                cut, cw = 0, 0.0
                while cut < len(token) and cw + _char_width(token[cut]) <= width:
                    cw += _char_width(token[cut])
                    cut += 1
                cut = max(cut, 1)
                lines.append(line + token[:cut])
                line, used, token = "", 0.0, token[cut:]
                w = sum(_char_width(c) for c in token)
            line += token
            used += w
        if line.strip() or not lines:
            lines.append(line.rstrip())
    lines = [ln for ln in lines if ln] or [""]
    return lines


def _label(text: str | None, cx: float, top: float, width: float, *, max_lines: int = 6,
           middle: float | None = None, cls: str = "label", anchor: str = "middle") -> str:
    """A wrapped <text> around `cx` (or from it, for anchor "start"); with `middle`, centred vertically on it."""
    if not text:
        return ""
    lines = _wrap(text, max(width, 24.0), max_lines)
    if middle is not None:
        top = middle - len(lines) * _LINE / 2
    spans = "".join(f'<tspan x="{cx:.1f}" y="{top + 11 + i * _LINE:.1f}">{_esc(ln)}</tspan>'
                    for i, ln in enumerate(lines))
    return f'<text class="{cls}" text-anchor="{anchor}">{spans}</text>'


# ---------------------------------------------------------------- glyphs

_EVENT_GLYPHS = {
    "message": '<rect x="-8" y="-5.5" width="16" height="11"/><path class="fold" d="M-8 -5.5 L0 1 L8 -5.5"/>',
    "signal": '<path d="M0 -9 L8 6 L-8 6 Z"/>',
    "error": '<path d="M-8 7 L-3 -7 L2 2 L8 -8 L3 7 L-2 -2 Z"/>',
    "escalation": '<path d="M0 -9 L7 8 L0 2 L-7 8 Z"/>',
    "conditional": '<rect x="-6" y="-8" width="12" height="16"/><path d="M-3.5 -4 H3.5 M-3.5 0 H3.5 M-3.5 4 H3.5"/>',
    "link": '<path d="M-8 -3 L2 -3 L2 -8 L9 0 L2 8 L2 3 L-8 3 Z"/>',
    "compensate": '<path d="M-9 0 L-1 -6 L-1 6 Z M-1 0 L7 -6 L7 6 Z"/>',
    "cancel": '<path d="M-6 -6 L6 6 M6 -6 L-6 6" stroke-width="3"/>',
    "terminate": '<circle r="10"/>',
    "timer": ('<circle r="10" fill="#fff"/><path d="M0 -10 V-7 M10 0 H7 M0 10 V7 M-10 0 H-7'
              ' M0 0 L0 -7 M0 0 L5 2"/>'),
}


def _gear() -> str:
    spokes = " ".join(f"M{7 + 4.5 * math.cos(a):.1f} {7 + 4.5 * math.sin(a):.1f} "
                      f"L{7 + 7 * math.cos(a):.1f} {7 + 7 * math.sin(a):.1f}"
                      for a in (i * math.pi / 4 for i in range(8)))
    return f'<path d="{spokes}" stroke-width="2"/><circle cx="7" cy="7" r="4.5"/><circle cx="7" cy="7" r="1.8"/>'


_TASK_GLYPHS = {
    "userTask": '<circle cx="7" cy="4.5" r="3.2"/><path d="M1 14 C1 8 13 8 13 14 Z"/>',
    "manualTask": ('<path d="M1 7 C1 5 2 4 4 4 H12 M4 7 H13 M4 10 H12 M3 13 H10 M1 7 V11 C1 12 2 13 3 13"/>'),
    "scriptTask": ('<path d="M4 1 H13 C10.5 4 15.5 9 13 13 H4 C6.5 9 1.5 4 4 1 Z"/>'
                   '<path d="M5.5 4 H11 M6.5 7 H12 M6.5 10 H12"/>'),
    "serviceTask": _gear(),
    "sendTask": '<rect class="filled" x="0" y="2" width="14" height="10"/><path class="fold" d="M0 2 L7 8 L14 2"/>',
    "receiveTask": '<rect x="0" y="2" width="14" height="10"/><path d="M0 2 L7 8 L14 2"/>',
    "businessRuleTask": ('<rect x="0" y="1" width="15" height="11"/><rect class="filled" x="0" y="1" width="15" '
                         'height="3"/><path d="M0 8 H15 M4.5 4 V12"/>'),
}

_GATEWAY_GLYPHS = {
    "exclusiveGateway": '<path d="M-7 -7 L7 7 M7 -7 L-7 7" stroke-width="3.5"/>',
    "parallelGateway": '<path d="M0 -10 V10 M-10 0 H10" stroke-width="3.5"/>',
    "inclusiveGateway": '<circle r="9" stroke-width="2.5"/>',
    "complexGateway": '<path d="M0 -10 V10 M-10 0 H10 M-7 -7 L7 7 M7 -7 L-7 7" stroke-width="3"/>',
    "eventBasedGateway": ('<circle r="11"/><circle r="8.5"/>'
                          '<path d="M0 -5.5 L5.2 -1.7 L3.2 4.5 L-3.2 4.5 L-5.2 -1.7 Z"/>'),
}


def _event_kinds(el: etree._Element | None) -> list[str]:
    if el is None:
        return []
    return [_local(d)[: -len("EventDefinition")] for d in el if _local(d).endswith("EventDefinition")]


# ---------------------------------------------------------------- drawing

def _defs(p: str) -> str:
    return (
        "<defs>"
        f'<marker id="{p}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="11" markerHeight="11" '
        'markerUnits="userSpaceOnUse" orient="auto"><path d="M0 0 L10 5 L0 10 Z" fill="#333"/></marker>'
        f'<marker id="{p}-open" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="11" markerHeight="11" '
        'markerUnits="userSpaceOnUse" orient="auto"><path d="M0 0 L10 5 L0 10 Z" fill="#fff" stroke="#333"/></marker>'
        f'<marker id="{p}-dot" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="9" markerHeight="9" '
        'markerUnits="userSpaceOnUse"><circle cx="5" cy="5" r="4" fill="#fff" stroke="#333"/></marker>'
        f'<marker id="{p}-default" viewBox="0 0 20 20" refX="0" refY="10" markerWidth="20" markerHeight="20" '
        'markerUnits="userSpaceOnUse" orient="auto"><path d="M9 4 L15 16" stroke="#333" stroke-width="1.5"/></marker>'
        f'<marker id="{p}-cond" viewBox="0 0 18 20" refX="0" refY="10" markerWidth="18" markerHeight="20" '
        'markerUnits="userSpaceOnUse" orient="auto"><path d="M1 10 L9 5 L17 10 L9 15 Z" fill="#fff" stroke="#333"/>'
        "</marker></defs>"
    )


def _node_body(s: Shape) -> tuple[str, list[str]]:
    """The drawing of one flow node, and extra classes for its group."""
    b, el, kind = s.box, s.el, s.kind
    cx, cy = b.x + b.w / 2, b.y + b.h / 2
    name = el.get("name") if el is not None else None
    extra: list[str] = []
    if kind in EVENTS:
        r = min(b.w, b.h) / 2
        parts = [f'<circle class="shape" cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}"/>']
        if kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            parts.append(f'<circle class="inner" cx="{cx:.1f}" cy="{cy:.1f}" r="{r - 3:.1f}"/>')
        if el is not None and (el.get("isInterrupting") == "false" or el.get("cancelActivity") == "false"):
            extra.append("non-interrupting")
        kinds = _event_kinds(el)
        if kinds and kinds[0] in _EVENT_GLYPHS:
            throw = " throw" if kind in ("endEvent", "intermediateThrowEvent") or kinds[0] == "terminate" else ""
            parts.append(f'<g class="glyph{throw}" transform="translate({cx:.1f} {cy:.1f}) scale({r / 18:.2f})">'
                         f"{_EVENT_GLYPHS[kinds[0]]}</g>")
        parts.append(_external_label(name, s))
        return "".join(parts), extra
    if kind in GATEWAYS:
        parts = [f'<path class="shape" d="M{cx:.1f} {b.y:.1f} L{b.x + b.w:.1f} {cy:.1f} L{cx:.1f} {b.y + b.h:.1f} '
                 f'L{b.x:.1f} {cy:.1f} Z"/>']
        glyph = _GATEWAY_GLYPHS.get(kind)
        if glyph:
            parts.append(f'<g class="glyph" transform="translate({cx:.1f} {cy:.1f}) scale({b.w / 50:.2f})">{glyph}</g>')
        parts.append(_external_label(name, s))
        return "".join(parts), extra
    if kind in SUBPROCESSES and s.expanded:
        extra.append("container")
        if el is not None and el.get("triggeredByEvent") == "true":
            extra.append("event-sub")
        body = (f'<rect class="shape" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="10"/>'
                + _label(name, b.x + 8, b.y + 4, b.w - 16, max_lines=2, anchor="start"))
        return body, extra
    parts = [f'<rect class="shape" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="10"/>']
    if kind in _TASK_GLYPHS:
        parts.append(f'<g class="marker" transform="translate({b.x + 7:.1f} {b.y + 7:.1f})">{_TASK_GLYPHS[kind]}</g>')
    bottom = []
    if kind in SUBPROCESSES:
        bottom.append('<rect x="-7" y="0" width="14" height="14"/><path d="M-4 7 H4 M0 3 V11"/>')
    loop = next((c for c in (el if el is not None else []) if _local(c).endswith("LoopCharacteristics")), None)
    if loop is not None:
        if _local(loop) == "standardLoopCharacteristics":
            bottom.append('<path d="M-4 12 A6 6 0 1 1 4 12 M4 12 L4 8 M4 12 L8 12"/>')
        elif loop.get("isSequential") == "true":
            bottom.append('<path d="M-6 3 H6 M-6 7 H6 M-6 11 H6" stroke-width="2"/>')
        else:
            bottom.append('<path d="M-4 2 V13 M0 2 V13 M4 2 V13" stroke-width="2"/>')
    for i, glyph in enumerate(bottom):
        offset = (i - (len(bottom) - 1) / 2) * 18
        parts.append(f'<g class="marker" transform="translate({cx + offset:.1f} {b.y + b.h - 17:.1f})">{glyph}</g>')
    # keep the text clear of the kind glyph (top left) and the markers (bottom centre)
    top, low = b.y + (22 if kind in _TASK_GLYPHS else 6), b.y + b.h - (20 if bottom else 6)
    lines = max(1, int((low - top) // _LINE))
    n = len(_wrap(name, b.w - 10, lines)) if name else 0
    parts.append(_label(name, cx, 0, b.w - 10, max_lines=lines,
                        middle=min(max(cy, top + n * _LINE / 2), low - n * _LINE / 2)))
    return "".join(parts), extra


def _external_label(name: str | None, s: Shape) -> str:
    if not name:
        return ""
    if s.label is not None:
        lb = s.label
        width = max(lb.w + 6, 90)
        fits = len(_wrap(name, width, 5)) * _LINE <= lb.h + 2
        return _label(name, lb.x + lb.w / 2, lb.y, width, max_lines=5, middle=lb.y + lb.h / 2 if fits else None)
    b = s.box
    return _label(name, b.x + b.w / 2, b.y + b.h + 4, 100, max_lines=5)


def _other_body(s: Shape, lane_label: Callable[[str], str] | None) -> str | None:
    """Pools, lanes, annotations and data: drawn, but not clickable settings."""
    b, el, kind = s.box, s.el, s.kind
    name = _clean(el.get("name")) if el is not None else ""
    rect = f'x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}"'
    if kind in ("participant", "lane"):
        if kind == "lane" and lane_label is not None and name:
            name = _clean(lane_label(name)) or name
        head = (f'<rect class="head" x="{b.x:.1f}" y="{b.y:.1f}" width="30" height="{b.h:.1f}"/>'
                if name or kind == "participant" else "")
        text = "".join(
            f'<text class="{kind.replace("participant", "pool")}-name" x="{b.x + 15:.1f}" y="{b.y + b.h / 2:.1f}" '
            f'text-anchor="middle" dominant-baseline="central">{_esc(ln)}</text>'
            for ln in _wrap(name, max(b.h - 10, 24), 1)) if name else ""
        cls = "pool" if kind == "participant" else "lane"
        return f'<g class="{cls}" data-element="{_esc(s.id)}"><rect class="{cls}" {rect}/>{head}{text}</g>'
    if kind == "textAnnotation":
        note = _text(el.find(f"{{{BPMN}}}text")) if el is not None else None
        bracket = f"M{b.x + 10:.1f} {b.y:.1f} H{b.x:.1f} V{b.y + b.h:.1f} H{b.x + 10:.1f}"
        lines = int(b.h // _LINE) or 1
        return (f'<g class="annotation"><path d="{bracket}"/>'
                f'{_label(note, b.x + 5, b.y + 3, b.w - 8, max_lines=lines, anchor="start")}</g>')
    if kind in ("dataObjectReference", "dataObject", "dataStoreReference", "dataInput", "dataOutput"):
        right, bottom, rx = b.x + b.w, b.y + b.h, b.w / 2
        if kind == "dataStoreReference":
            shape = (f'<path class="shape" d="M{b.x:.1f} {b.y + 6:.1f} A{rx:.1f} 6 0 0 1 {right:.1f} {b.y + 6:.1f} '
                     f'V{bottom - 6:.1f} A{rx:.1f} 6 0 0 1 {b.x:.1f} {bottom - 6:.1f} Z '
                     f'M{b.x:.1f} {b.y + 6:.1f} A{rx:.1f} 6 0 0 0 {right:.1f} {b.y + 6:.1f}"/>')
        else:
            fold = min(10.0, b.w / 3)
            shape = (f'<path class="shape" d="M{b.x:.1f} {b.y:.1f} H{right - fold:.1f} L{right:.1f} {b.y + fold:.1f} '
                     f'V{bottom:.1f} H{b.x:.1f} Z M{right - fold:.1f} {b.y:.1f} V{b.y + fold:.1f} H{right:.1f}"/>')
        return f'<g class="data">{shape}{_external_label(name, s)}</g>'
    return None


def _edge_body(e: Edge, p: str, by_id: dict[str, etree._Element]) -> str:
    d = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in e.points)
    el = e.el
    if e.kind == "messageFlow":
        markers = f' marker-start="url(#{p}-dot)" marker-end="url(#{p}-open)"'
    elif e.kind in ("association", "dataInputAssociation", "dataOutputAssociation"):
        one = e.kind != "association" or (el is not None and el.get("associationDirection") in ("One", "Both"))
        markers = f' marker-end="url(#{p}-open)"' if one else ""
    else:
        markers = f' marker-end="url(#{p}-arrow)"'
        source = by_id.get(el.get("sourceRef", "")) if el is not None else None
        if source is not None and el is not None and source.get("default") == el.get("id"):
            markers += f' marker-start="url(#{p}-default)"'
        elif (source is not None and el is not None and _local(source) not in GATEWAYS
              and el.find(f"{{{BPMN}}}conditionExpression") is not None):
            markers += f' marker-start="url(#{p}-cond)"'
    body = f'<path class="hit" d="{d}"/><path class="flow"{markers} d="{d}"/>'
    name = el.get("name") if el is not None else None
    if name:
        if e.label is not None:
            lb = e.label
            body += _label(name, lb.x + lb.w / 2, 0, max(lb.w + 6, 50), max_lines=3, middle=lb.y + lb.h / 2,
                           cls="label flow-label")
        else:
            (x1, y1), (x2, y2) = e.points[(len(e.points) - 1) // 2], e.points[(len(e.points) - 1) // 2 + 1]
            body += _label(name, (x1 + x2) / 2 + 4, (y1 + y2) / 2 - 16, 90, max_lines=2, cls="label flow-label")
    return body


def _find_process(files: dict[str, str], process_id: str) -> tuple[etree._Element, etree._Element]:
    for _name, root in _bpmn_roots(files):
        for process in root.iterchildren(f"{{{BPMN}}}process"):
            if process.get("id") == process_id:
                return root, process
    raise NotFound(f"no process {process_id!r} in the package", element=process_id)


def _title(s_id: str, el: etree._Element | None, mark: Mark | None) -> str:
    name = _clean(el.get("name")) if el is not None else ""
    lines = [f"{name} ({s_id})" if name else s_id]
    if mark is not None:
        lines += [*mark.problems, *mark.warnings]
    return "<title>" + _esc("\n".join(lines)) + "</title>"


def _overlays(box: Box, mark: Mark) -> tuple[str, str]:
    """The "!" flag drawn with the element, and the count badge drawn above everything (outside its link)."""
    flag = ""
    if mark.problems or mark.warnings:
        amber = "" if mark.problems else " amber"
        flag = (f'<g class="flag{amber}"><circle cx="{box.x:.1f}" cy="{box.y:.1f}" r="9"/>'
                f'<text x="{box.x:.1f}" y="{box.y + 4.5:.1f}" text-anchor="middle">!</text></g>')
    badge = ""
    if mark.waiting > 0:
        count, late = str(mark.waiting), f" ({mark.overdue})" if mark.overdue > 0 else ""
        width = 10 + 7.5 * (len(count) + len(late))
        x, y = box.x + box.w - width + 10, box.y - 11
        late_span = f'<tspan class="overdue">{_esc(late)}</tspan>' if late else ""
        badge = (f'<g class="badge"><rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="19" rx="9"/>'
                 f'<text x="{x + width / 2:.1f}" y="{y + 14:.1f}" text-anchor="middle">'
                 f"{_esc(count)}{late_span}</text></g>")
        if mark.count_href:
            badge = f'<a class="count" href="{_esc(mark.count_href)}">{badge}</a>'
    return flag, badge


def render_svg(files: dict[str, str], process_id: str, *, marks: dict[str, Mark] | None = None,
               element_href: Callable[[str], str] | None = None, title: str | None = None,
               auto_layout_note: str = AUTO_LAYOUT_NOTE, lane_label: Callable[[str], str] | None = None) -> str:
    """The process drawn as one standalone <svg>, from its diagram interchange or laid out automatically."""
    marks = marks or {}
    root, process = _find_process(files, process_id)
    by_id = {el.get("id", ""): el for el in root.iter() if isinstance(el.tag, str)
             and el.tag.startswith(f"{{{BPMN}}}") and el.get("id")}
    node_ids = {el.get("id", "") for el, _ in _walk(process, {}, None)}
    plane = plane_of(root, process_id, node_ids)
    layout = di_layout(plane, by_id) if plane is not None else Layout()
    bands: list[tuple[str, Box]] = []
    if not any(s.id in node_ids for s in layout.shapes):
        layout, bands = auto_layout(process)
    prefix = "d-" + re.sub(r"[^A-Za-z0-9_-]", "_", process_id)[:60]
    heat_max = max((m.waiting for m in marks.values()), default=0)

    back: list[str] = []
    containers: list[tuple[float, str]] = []
    edges: list[str] = []
    nodes: list[str] = []
    boundary: list[str] = []
    badges: list[str] = []
    for i, (row, box) in enumerate(bands):
        lane = Shape(f"auto-lane-{i}", "lane", etree.Element(f"{{{BPMN}}}lane", name=row) if row else None, box)
        back.append(_other_body(lane, lane_label) or "")

    def wrap(s_id: str, kind: str, el: etree._Element | None, box: Box, body: str, extra: list[str]) -> str:
        mark = marks.get(s_id)
        classes = ["el", kind, *extra]
        flag = badge = ""
        if mark is not None:
            classes += (["problem"] if mark.problems else []) + (["warning"] if mark.warnings else [])
            classes += [f"diff-{mark.change}"] if mark.change else []
            if mark.waiting > 0 and heat_max > 0:
                classes.append(f"heat-{max(1, min(5, math.ceil(5 * mark.waiting / heat_max)))}")
            flag, badge = _overlays(box, mark)
        group = (f'<g class="{_esc(" ".join(classes))}" id="el-{_esc(s_id)}" data-element="{_esc(s_id)}">'
                 f"{_title(s_id, el, mark)}{body}{flag}</g>")
        if element_href is not None and kind in SETTINGS_KINDS:
            group = f'<a href="{_esc(element_href(s_id))}">{group}</a>'
        if badge:
            badges.append(badge)
        return group

    for s in layout.shapes:
        if s.kind in FLOW_NODES:
            body, extra = _node_body(s)
            drawn = wrap(s.id, s.kind, s.el, s.box, body, extra)
            if s.kind in SUBPROCESSES and s.expanded:
                containers.append((s.box.w * s.box.h, drawn))
            else:
                (boundary if s.kind == "boundaryEvent" else nodes).append(drawn)
        else:
            other = _other_body(s, lane_label)
            if other:
                (back if s.kind in ("participant", "lane") else edges).append(other)
    for e in layout.edges:
        body = _edge_body(e, prefix, by_id)
        box = Box(*e.points[0], 0, 0)
        if e.kind == "sequenceFlow":
            edges.append(wrap(e.id, e.kind, e.el, box, body, []))
        else:
            edges.append(f'<g class="{_esc(e.kind)}">{body}</g>')

    x0, y0, x1, y1 = bounds_of(layout, [box for _, box in bands])
    x0, y0, x1, y1 = x0 - 20, y0 - (40 if layout.automatic else 20), x1 + 20, y1 + 20
    width, height = x1 - x0, y1 - y0
    heading = title or _clean(process.get("name")) or process_id
    note = (f'<text class="note" x="{x0 + 10:.1f}" y="{y0 + 20:.1f}">{_esc(auto_layout_note)}</text>'
            if layout.automatic else "")
    containers.sort(key=lambda c: -c[0])
    shown_width = min(width, max(900, width * 0.75))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram{" auto-layout" if layout.automatic else ""}" '
        # Sized by attributes, not a style attribute: the pages' Content-Security-Policy drops inline styles.
        # Three quarters of the drawn size keeps labels readable; the page's frame scrolls.
        f'viewBox="{x0:.1f} {y0:.1f} {width:.1f} {height:.1f}" width="{shown_width:.0f}" '
        f'height="{height * shown_width / width:.0f}" role="img" '
        f'aria-labelledby="{prefix}-title" data-process="{_esc(process_id)}">'
        f'<title id="{prefix}-title">{_esc(heading)}</title>{_defs(prefix)}'
        + note + "".join(back) + "".join(c for _, c in containers) + "".join(edges) + "".join(nodes)
        + "".join(boundary) + "".join(badges) + "</svg>"
    )
