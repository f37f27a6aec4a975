"""Where a process diagram's elements go: the diagram interchange's bounds and waypoints, or, for a model
without one, an automatic left-to-right layout in layers, with lanes as rows."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from lxml import etree

from .bpmn_reading import (
    BPMN,
    BPMNDI,
    DC,
    DI,
    EVENTS,
    FLOW_NODES,
    GATEWAYS,
    SUBPROCESSES,
    clean,
    lane_names,
    local_name,
    walk,
)


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float


@dataclass
class Shape:
    id: str
    kind: str
    el: etree._Element | None
    box: Box
    label: Box | None = None
    expanded: bool = False


@dataclass
class Edge:
    id: str
    kind: str
    el: etree._Element | None
    points: list[tuple[float, float]]
    label: Box | None = None


@dataclass
class Layout:
    shapes: list[Shape] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    automatic: bool = False


def _bounds(el: etree._Element | None) -> Box | None:
    if el is None:
        return None
    b = el.find(f"{{{DC}}}Bounds")
    if b is None:
        return None
    try:
        box = Box(*(float(b.get(k, "0")) for k in ("x", "y", "width", "height")))
    except ValueError:
        return None
    return box if all(math.isfinite(v) for v in (box.x, box.y, box.w, box.h)) else None


def plane_of(root: etree._Element, process_id: str, node_ids: set[str]) -> etree._Element | None:
    participants = {p.get("id") for p in root.iter(f"{{{BPMN}}}participant") if p.get("processRef") == process_id}
    collaborations = {c.get("id") for c in root.iter(f"{{{BPMN}}}collaboration")
                      if any(p.get("id") in participants for p in c.iter(f"{{{BPMN}}}participant"))}
    planes = list(root.iter(f"{{{BPMNDI}}}BPMNPlane"))
    for plane in planes:
        if plane.get("bpmnElement") == process_id or plane.get("bpmnElement") in collaborations:
            return plane
    for plane in planes[:1]:
        if any(s.get("bpmnElement") in node_ids for s in plane.iter(f"{{{BPMNDI}}}BPMNShape")):
            return plane
    return None


def di_layout(plane: etree._Element, by_id: dict[str, etree._Element]) -> Layout:
    layout = Layout()
    for di in plane:
        ref = di.get("bpmnElement", "")
        el = by_id.get(ref)
        kind = local_name(el) if el is not None else ""
        if local_name(di) == "BPMNShape":
            box = _bounds(di)
            if box is not None and el is not None:
                label = _bounds(di.find(f"{{{BPMNDI}}}BPMNLabel"))
                layout.shapes.append(Shape(ref, kind, el, box, label, di.get("isExpanded") == "true"))
        elif local_name(di) == "BPMNEdge" and el is not None:
            points = []
            for wp in di.iterchildren(f"{{{DI}}}waypoint"):
                try:
                    points.append((float(wp.get("x", "")), float(wp.get("y", ""))))
                except ValueError:
                    continue
            points = [p for p in points if math.isfinite(p[0]) and math.isfinite(p[1])]
            if len(points) >= 2:
                layout.edges.append(Edge(ref, kind, el, points, _bounds(di.find(f"{{{BPMNDI}}}BPMNLabel"))))
    return layout


_SIZES = {"task": (100.0, 80.0), "event": (36.0, 36.0), "gateway": (50.0, 50.0)}
_COLUMN, _ROW, _HEADER = 160.0, 120.0, 40.0


def _size(kind: str) -> tuple[float, float]:
    return _SIZES["event" if kind in EVENTS else "gateway" if kind in GATEWAYS else "task"]


def _layers(nodes: list[str], edges: list[tuple[str, str]], starts: list[str]) -> dict[str, int]:
    """Longest path from the start events, after dropping the edges that close a cycle."""
    out: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        out[a].append(b)
    state: dict[str, int] = {}
    forward: list[tuple[str, str]] = []
    for root in starts + nodes:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                continue  # back edge: a loop in the process
            else:
                forward.append((node, child))
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(out[child])))
    indegree = {n: 0 for n in nodes}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in set(forward):
        succ[a].append(b)
        indegree[b] += 1
    layer = {n: 0 for n in nodes}
    queue = [n for n in nodes if indegree[n] == 0]
    while queue:
        node = queue.pop()
        for child in succ[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    return layer


def auto_layout(process: etree._Element) -> tuple[Layout, list[tuple[str, Box]]]:
    """A left-to-right layered layout by longest path, one row band per lane."""
    lanes = lane_names(process)
    elements = [(el, lane) for el, lane in walk(process, lanes, None) if el.get("id")]
    nodes = [el for el, _ in elements if local_name(el) in FLOW_NODES]
    ids = [el.get("id", "") for el in nodes]
    known = set(ids)
    flows = [el for el, _ in elements if local_name(el) == "sequenceFlow"
             and el.get("sourceRef") in known and el.get("targetRef") in known]
    links = [(f.get("sourceRef", ""), f.get("targetRef", "")) for f in flows]
    for el in nodes:  # a subprocess leads into its contents, a task into its boundary events
        parent = el.getparent()
        if local_name(el) == "startEvent" and parent is not None and local_name(parent) in SUBPROCESSES:
            links.append((parent.get("id", ""), el.get("id", "")))
        if local_name(el) == "boundaryEvent" and el.get("attachedToRef") in known:
            links.append((el.get("attachedToRef", ""), el.get("id", "")))
    starts = [i for el, i in zip(nodes, ids, strict=True) if local_name(el) == "startEvent"]
    layer = _layers(ids, links, starts)
    lane_of = {el.get("id", ""): lane for el, lane in elements}
    row_names = list(dict.fromkeys(clean(lane.get("name") or lane.get("id"))
                                    for lane in process.iter(f"{{{BPMN}}}lane")))
    rows = row_names + ([""] if any(lane_of.get(i) is None for i in ids) or not row_names else [])
    slots: dict[tuple[str, int], int] = {}
    placed: list[tuple[str, str, int, int]] = []
    attached = {i: el.get("attachedToRef", "") for el, i in zip(nodes, ids, strict=True)
                if local_name(el) == "boundaryEvent" and el.get("attachedToRef") in known}
    for node_id in ids:
        if node_id in attached:
            continue  # drawn on its task's border, below
        row = lane_of.get(node_id) or ""
        key = (row if row in rows else "", layer[node_id])
        slots[key] = slots.get(key, 0) + 1
        placed.append((node_id, key[0], layer[node_id], slots[key] - 1))
    depth = {row: max([n for (r, _), n in slots.items() if r == row] or [1]) for row in rows}
    top, bands = 30.0, []
    row_top = {}
    width = _HEADER + _COLUMN * (max(layer.values(), default=0) + 1) + 20
    for row in rows:
        row_top[row] = top
        bands.append((row, Box(0, top, width, depth[row] * _ROW)))
        top += depth[row] * _ROW
    layout = Layout(automatic=True)
    by_id = {el.get("id", ""): el for el in nodes}
    for node_id, row, col, slot in placed:
        w, h = _size(local_name(by_id[node_id]))
        cx, cy = _HEADER + col * _COLUMN + _COLUMN / 2, row_top[row] + slot * _ROW + _ROW / 2
        box = Box(cx - w / 2, cy - h / 2, w, h)
        layout.shapes.append(Shape(node_id, local_name(by_id[node_id]), by_id[node_id], box))
    boxes = {s.id: s.box for s in layout.shapes}
    on_host: dict[str, int] = {}
    for node_id, host in attached.items():
        hb, n = boxes[host], on_host.get(host, 0)
        on_host[host] = n + 1
        box = Box(hb.x + hb.w - 30 - 40 * n, hb.y + hb.h - 18, 36, 36)
        layout.shapes.append(Shape(node_id, "boundaryEvent", by_id[node_id], box))
        boxes[node_id] = box
    for f in flows:
        a, b = boxes[f.get("sourceRef", "")], boxes[f.get("targetRef", "")]
        if b.x > a.x + a.w:
            sx, sy, tx, ty = a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2
            mid = (sx + tx) / 2 if abs(sy - ty) > 1 else sx
            points = [(sx, sy), (mid, sy), (mid, ty), (tx, ty)]
        else:  # a loop back: under both shapes
            low = max(a.y + a.h, b.y + b.h) + 18
            ax, bx = a.x + a.w / 2, b.x + b.w / 2
            points = [(ax, a.y + a.h), (ax, low), (bx, low), (bx, b.y + b.h)]
        layout.edges.append(Edge(f.get("id", ""), "sequenceFlow", f, points))
    return layout, bands


def bounds_of(layout: Layout, extra: list[Box]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for box in [s.box for s in layout.shapes] + [s.label for s in layout.shapes if s.label] + extra + [
            e.label for e in layout.edges if e.label]:
        xs += [box.x, box.x + box.w]
        ys += [box.y, box.y + box.h]
    for e in layout.edges:
        xs += [x for x, _ in e.points]
        ys += [y for _, y in e.points]
    if not xs:
        return 0, 0, 200, 100
    return min(xs), min(ys), max(xs), max(ys)
