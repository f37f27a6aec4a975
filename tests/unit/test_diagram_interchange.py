"""Every shipped diagram opens in a standard BPMN modeller: each element has its shape or edge."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
SHAPED = ("startEvent", "endEvent", "userTask", "scriptTask", "businessRuleTask", "serviceTask", "task",
          "manualTask", "sendTask", "receiveTask", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
          "eventBasedGateway", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "subProcess",
          "callActivity", "lane", "participant", "dataObjectReference", "dataStoreReference")
DIAGRAMS = sorted(BPMN_DIR.rglob("*.bpmn"))


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_every_element_of_the_shipped_diagram_has_diagram_interchange(path):
    tree = etree.parse(str(path))
    shapes = {e.get("bpmnElement") for e in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    missing_shapes = [e.get("id") for tag in SHAPED for e in tree.iterfind(f".//bpmn:{tag}", NS)
                      if e.get("id") not in shapes]
    missing_edges = [e.get("id") for e in tree.iterfind(".//bpmn:sequenceFlow", NS) if e.get("id") not in edges]
    assert missing_shapes == [] and missing_edges == []
    for edge in tree.iterfind(".//bpmndi:BPMNEdge", NS):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2, edge.get("bpmnElement")


def test_the_shipped_processes_are_found():
    assert any(p.name == "kodoku_koritsu_case.bpmn" for p in DIAGRAMS)
