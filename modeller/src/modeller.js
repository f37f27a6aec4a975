// The designer's modeller page (web/templates/designer_modeller.html): bpmn-js edits the diagram, a small
// panel beside it edits what Tsunagu reads (in the Spiff extension format), and saving posts the XML in the
// page's form so the server validates it like an upload. Every word shown comes from the page (translated
// there); the page's data island gives the diagram, the problems to mark and the choices for the panel.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import './modeller.css';
import spiffworkflow from './spiffworkflow.json';
import { createPanel } from './panel.js';

function readData() {
  const island = document.getElementById('modeller-data');
  return island ? JSON.parse(island.textContent) : null;
}

function markProblems(modeler, problems, text) {
  const registry = modeler.get('elementRegistry');
  const canvas = modeler.get('canvas');
  const overlays = modeler.get('overlays');
  const byElement = new Map();
  for (const problem of problems) {
    if (problem.element && registry.get(problem.element)) {
      byElement.set(problem.element, [...(byElement.get(problem.element) || []), problem.text]);
    }
  }
  for (const [id, sentences] of byElement) {
    canvas.addMarker(id, 'tsunagu-problem');
    const badge = document.createElement('span');
    badge.className = 'tsunagu-problem-badge';
    badge.textContent = '!';
    badge.title = sentences.join('\n');
    badge.setAttribute('role', 'img');
    badge.setAttribute('aria-label', `${text.problem}: ${sentences.join(' ')}`);
    overlays.add(id, 'tsunagu-problem', { position: { top: -10, right: 10 }, html: badge });
  }
  return byElement;
}

// A whole municipal process fitted into the canvas is too small to read: open it at a readable scale with
// its left edge beside the palette, where the flow starts.
function showStart(canvas) {
  canvas.zoom('fit-viewport', 'auto');
  const fitted = canvas.viewbox();
  if (fitted.scale >= 0.75) return;
  const scale = 0.75;
  const { inner } = fitted;
  canvas.viewbox({
    x: inner.x - 130 / scale, y: inner.y - 20 / scale,
    width: fitted.outer.width / scale, height: fitted.outer.height / scale,
  });
}

async function start() {
  const data = readData();
  const container = document.getElementById('canvas');
  if (!data || !container) return;
  const status = document.getElementById('modeller-status');
  const form = document.getElementById('modeller-form');
  const saveButton = document.getElementById('modeller-save');
  const modeler = new BpmnModeler({ container, moddleExtensions: { spiffworkflow } });
  // The browser tests drive bpmn-js's own modeling API through this handle.
  window.tsunaguModeller = modeler;

  let importWarnings = [];
  try {
    const result = await modeler.importXML(data.xml);
    importWarnings = result.warnings || [];
  } catch (error) {
    status.textContent = `${data.text.importFailed} ${error.message || ''}`;
    status.hidden = false;
    saveButton.disabled = true;
    return;
  }
  if (importWarnings.length) {
    // Content bpmn-js cannot read would be dropped on saving: refuse to save rather than lose it.
    status.textContent = `${data.text.importWarnings} ${importWarnings.map((w) => w.message.split('\n')[0]).join(' / ')}`;
    status.hidden = false;
    saveButton.disabled = true;
  }
  showStart(modeler.get('canvas'));
  const problems = markProblems(modeler, data.problems || [], data.text);
  const panel = createPanel(modeler, data, problems);

  for (const button of document.querySelectorAll('[data-element]')) {
    button.addEventListener('click', () => panel.select(button.getAttribute('data-element')));
  }
  const first = (data.problems || []).find((p) => p.element && modeler.get('elementRegistry').get(p.element));
  if (first) panel.select(first.element);

  // Leaving with changes not saved asks first: any command since the diagram was opened (undoing them all is
  // back where it started), a lane's role, or a refused save whose work came back to this page.
  const commandStack = modeler.get('commandStack');
  let submitting = false;
  window.addEventListener('beforeunload', (event) => {
    if (submitting || !(commandStack.canUndo() || panel.lanes.changed())) return;
    event.preventDefault();
    event.returnValue = '';
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (saveButton.disabled) return;
    panel.flush();
    saveButton.disabled = true;
    try {
      const { xml } = await modeler.saveXML({ format: true });
      document.getElementById('modeller-xml').value = xml;
      document.getElementById('modeller-lane-roles').value = panel.lanes.json();
      submitting = true;
      form.submit();
    } catch (error) {
      status.textContent = `${data.text.saveFailed} ${error.message || ''}`;
      status.hidden = false;
      saveButton.disabled = false;
    }
  });
  document.documentElement.setAttribute('data-modeller', 'ready');
}

start();
