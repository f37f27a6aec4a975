// The decision table editor page (web/templates/designer_decision_modeller.html): dmn-js opens the DMN file
// on the table of the page's decision, where rules and columns (input expressions, output names, labels,
// types, hit policy) can be changed; saving posts the whole file in the page's form, and the server checks
// every entry as the sandbox will run it. Every word shown comes from the page (translated there): the data
// island gives the file, the decision to open, the problems to mark and dmn-js's own words in the reader's
// language.
import DmnModeler from 'dmn-js/lib/Modeler';
import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';
import './decisions.css';

function readData() {
  const island = document.getElementById('modeller-data');
  return island ? JSON.parse(island.textContent) : null;
}

// dmn-js asks its `translate` service for every word it shows; the page sends the reader's words.
function translator(words) {
  return function translate(template, replacements = {}) {
    const text = words[template] || template;
    return text.replace(/{([^}]+)}/g, (whole, key) => (key in replacements ? replacements[key] : whole));
  };
}

// The table is re-rendered as it is edited, so the marks are put back whenever its cells change.
function markProblems(container, problems, label) {
  const byElement = new Map();
  for (const problem of problems) {
    if (problem.element) byElement.set(problem.element, [...(byElement.get(problem.element) || []), problem.text]);
  }
  if (!byElement.size) return;
  const mark = () => {
    for (const [id, sentences] of byElement) {
      for (const cell of container.querySelectorAll(`[data-element-id="${CSS.escape(id)}"]`)) {
        const title = `${label}: ${sentences.join(' / ')}`;
        if (!cell.classList.contains('tsunagu-problem')) cell.classList.add('tsunagu-problem');
        if (cell.getAttribute('title') !== title) cell.setAttribute('title', title);
        if (cell.getAttribute('aria-invalid') !== 'true') cell.setAttribute('aria-invalid', 'true');
      }
    }
  };
  new MutationObserver(mark).observe(container, {
    childList: true, subtree: true, attributes: true, attributeFilter: ['class', 'title'],
  });
  mark();
}

function openDecision(modeler, decisionId) {
  const view = modeler.getViews().find((v) => v.type === 'decisionTable' && v.element.id === decisionId);
  return view ? modeler.open(view).then(() => true) : Promise.resolve(false);
}

async function start() {
  const data = readData();
  const container = document.getElementById('decision-editor');
  if (!data || !container) return;
  const status = document.getElementById('modeller-status');
  const form = document.getElementById('modeller-form');
  const saveButton = document.getElementById('modeller-save');
  const say = (text) => { status.textContent = text; status.hidden = false; };
  // dmn-js replaces `common.additionalModules` with each view's own, so the words are given to every view.
  const words = { additionalModules: [{ translate: ['value', translator(data.text.ui || {})] }] };
  const modeler = new DmnModeler({
    container, drd: words, decisionTable: words, literalExpression: words, boxedExpression: words,
  });
  // The browser tests drive dmn-js's own modeling API through this handle.
  window.tsunaguDecisionModeller = modeler;

  let changed = false;
  let saving = false;
  const watch = () => {
    const viewer = modeler.getActiveViewer();
    if (viewer && !viewer.tsunaguWatched) {
      viewer.tsunaguWatched = true;
      viewer.on('commandStack.changed', () => { changed = true; });
    }
  };
  modeler.on('views.changed', watch);

  try {
    const result = await modeler.importXML(data.xml);
    const warnings = result.warnings || [];
    if (warnings.length) {
      // Content dmn-js cannot read would be dropped on saving: refuse to save rather than lose it.
      say(`${data.text.importWarnings} ${warnings.map((w) => w.message.split('\n')[0]).join(' / ')}`);
      saveButton.disabled = true;
    }
  } catch (error) {
    say(`${data.text.importFailed} ${error.message || ''}`);
    saveButton.disabled = true;
    return;
  }
  if (!(await openDecision(modeler, data.decision))) say(data.text.decisionMissing);
  watch();
  markProblems(container, data.problems || [], data.text.problem);

  window.addEventListener('beforeunload', (event) => {
    if (!changed || saving) return;
    event.preventDefault();
    event.returnValue = '';
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (saveButton.disabled) return;
    saveButton.disabled = true;
    try {
      const { xml } = await modeler.saveXML({ format: true });
      document.getElementById('modeller-xml').value = xml;
      saving = true;
      form.submit();
    } catch (error) {
      say(`${data.text.saveFailed} ${error.message || ''}`);
      saveButton.disabled = false;
    }
  });
  document.documentElement.setAttribute('data-modeller', 'ready');
}

start();
