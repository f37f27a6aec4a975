// The settings panel beside the canvas: the page renders its fields (with translated labels); this file
// shows the ones that apply to the selected element, fills them from its business object and writes each
// change back through bpmn-js's modeling commands (so undo and redo cover them) in the Spiff format:
// spiffworkflow:properties, spiffworkflow:instructionsForEndUser and spiffworkflow:calledDecisionId in the
// element's extensionElements, bpmn:script, a flow's bpmn:conditionExpression and a timer's expression. A lane's
// role is in lanes.js, the message settings in messages.js; with nothing selected it shows the process itself.
import { is } from 'bpmn-js/lib/util/ModelUtil';
import { createLanes } from './lanes.js';
import { createMessages, messageHolder, throwsMessage } from './messages.js';

const PROPERTIES = {
  'p-form': 'formJsonSchemaFilename',
  'p-layout': 'formUiSchemaFilename',
  'p-due': 'dueIn',
  'p-follow-up': 'followUpIn',
  'p-priority': 'priority',
  'p-record': 'record',
  'p-kind': 'kind',
};
const TIMER_KINDS = ['timeDuration', 'timeDate', 'timeCycle'];

function groupsOf(element) {
  const bo = element.businessObject;
  const groups = new Set();
  if (element.type !== 'label' && !is(element, 'bpmn:Collaboration') && !is(element, 'bpmn:Process')) {
    groups.add('named');
  }
  if (is(element, 'bpmn:Collaboration') || is(element, 'bpmn:Process') || is(element, 'bpmn:Participant')) {
    groups.add('process');
  }
  if (is(element, 'bpmn:Lane')) groups.add('lane');
  if (messageHolder(bo)) groups.add('message').add(throwsMessage(bo) ? 'throw' : 'catch');
  if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask')) groups.add('human');
  if (is(element, 'bpmn:UserTask')) groups.add('user');
  if (is(element, 'bpmn:ScriptTask')) groups.add('script');
  if (is(element, 'bpmn:SequenceFlow')) groups.add('condition');
  if (is(element, 'bpmn:BusinessRuleTask')) groups.add('decision');
  if (timerOf(bo)) groups.add('timer');
  return groups;
}

function timerOf(bo) {
  return (bo.eventDefinitions || []).find((d) => is(d, 'bpmn:TimerEventDefinition')) || null;
}

function extension(bo, type) {
  const values = bo.extensionElements ? bo.extensionElements.get('values') : [];
  return values.find((v) => is(v, type)) || null;
}

export function createPanel(modeler, data, problems) {
  const moddle = modeler.get('moddle');
  const modeling = modeler.get('modeling');
  const registry = modeler.get('elementRegistry');
  const selection = modeler.get('selection');
  const canvas = modeler.get('canvas');
  const field = (id) => document.getElementById(id);
  const lanes = createLanes(modeler, data);
  const messages = createMessages(modeler, data, field);
  let current = null;

  // The process the key names: the root's, a pool's, or in a collaboration the pool that holds the key.
  function processOf(element) {
    const bo = element.businessObject;
    if (is(bo, 'bpmn:Process')) return bo;
    if (is(bo, 'bpmn:Participant')) return bo.processRef || null;
    const pools = (bo.participants || []).filter((p) => p.processRef);
    const pool = pools.find((p) => p.processRef.id === data.key) || pools[0];
    return pool ? pool.processRef : null;
  }

  function replaceExtension(element, type, replacement) {
    const bo = element.businessObject;
    const values = bo.extensionElements ? bo.extensionElements.get('values').slice() : [];
    const at = values.findIndex((v) => is(v, type));
    if (at >= 0 && replacement) values[at] = replacement;
    else if (at >= 0) values.splice(at, 1);
    else if (replacement) values.push(replacement);
    const extensionElements = values.length ? moddle.create('bpmn:ExtensionElements', { values }) : undefined;
    values.forEach((v) => { v.$parent = extensionElements; });
    modeling.updateProperties(element, { extensionElements });
  }

  function spiffProperty(bo, name) {
    const props = extension(bo, 'spiffworkflow:Properties');
    const found = props ? props.get('values').find((p) => p.name === name) : null;
    return found ? found.value || '' : '';
  }

  function setSpiffProperty(element, name, value) {
    const props = extension(element.businessObject, 'spiffworkflow:Properties');
    const items = (props ? props.get('values') : [])
      .map((p) => moddle.create('spiffworkflow:Property', { name: p.name, value: p.value }));
    const at = items.findIndex((p) => p.name === name);
    if (value && at >= 0) items[at].value = value;
    else if (value) items.push(moddle.create('spiffworkflow:Property', { name, value }));
    else if (at >= 0) items.splice(at, 1);
    const replacement = items.length ? moddle.create('spiffworkflow:Properties', { values: items }) : null;
    items.forEach((p) => { p.$parent = replacement; });
    replaceExtension(element, 'spiffworkflow:Properties', replacement);
  }

  function setBodyExtension(element, type, value) {
    replaceExtension(element, type, value ? moddle.create(type, { text: value }) : null);
  }

  function expression(value) {
    return value ? moddle.create('bpmn:FormalExpression', { body: value }) : undefined;
  }

  function laneOf(element) {
    const lanes = registry.filter((e) => is(e, 'bpmn:Lane')
      && (e.businessObject.flowNodeRef || []).includes(element.businessObject));
    // Nested lanes list a task too: the innermost (drawn last) is the one that names its role.
    return lanes.length ? lanes[lanes.length - 1].businessObject : null;
  }

  // On a refresh after a change, a field still being typed in keeps what was typed (its change event,
  // when it leaves the field, writes it).
  let refreshing = false;
  function put(id, value) {
    if (!(refreshing && document.activeElement === field(id))) field(id).value = value;
  }

  function show(element) {
    const selected = element && element.type !== 'label' ? element : (element ? element.labelTarget : null);
    current = selected || canvas.getRootElement();
    const fields = field('p-fields');
    field('p-empty').hidden = Boolean(selected);
    fields.hidden = !current;
    if (!current) return;
    const bo = current.businessObject;
    const groups = groupsOf(current);
    for (const part of fields.querySelectorAll('[data-show]')) {
      part.hidden = !groups.has(part.getAttribute('data-show'));
    }
    field('p-id').textContent = bo.id;
    field('p-type').textContent = (data.text.types || {})[bo.$type] || bo.$type.replace('bpmn:', '');
    put('p-name', bo.name || '');
    if (groups.has('process')) {
      const process = processOf(current);
      field('p-process-id').textContent = process ? process.id : '—';
      put('p-process-name', process ? process.name || '' : '');
      field('p-process-name').disabled = !process;
    }
    if (groups.has('lane')) lanes.show(bo);
    if (groups.has('message')) messages.show(current, put);
    if (groups.has('human')) {
      const lane = laneOf(current);
      field('p-lane').textContent = lane ? lanes.describe(lane) : data.text.noLane;
      for (const [id, name] of Object.entries(PROPERTIES)) put(id, spiffProperty(bo, name));
      const instructions = extension(bo, 'spiffworkflow:InstructionsForEndUser');
      put('p-instructions', instructions ? instructions.text || '' : '');
    }
    if (groups.has('script')) put('p-script', bo.script || '');
    if (groups.has('condition')) put('p-condition', bo.conditionExpression ? bo.conditionExpression.body || '' : '');
    if (groups.has('decision')) {
      const called = extension(bo, 'spiffworkflow:CalledDecisionId');
      put('p-decision', called ? called.text || '' : '');
    }
    if (groups.has('timer')) {
      const timer = timerOf(bo);
      const kind = TIMER_KINDS.find((k) => timer[k]) || 'timeDuration';
      put('p-timer-kind', kind);
      put('p-timer', timer[kind] ? timer[kind].body || '' : '');
    }
    const list = field('p-problems');
    list.replaceChildren(...(problems.get(bo.id) || []).map((sentence) => {
      const item = document.createElement('li');
      item.textContent = sentence;
      return item;
    }));
    list.hidden = !list.children.length;
  }

  function write(id) {
    if (!current) return;
    const element = current;
    const bo = element.businessObject;
    const value = field(id).value.trim();
    if (id === 'p-name') {
      if ((bo.name || '') !== value) modeling.updateLabel(element, value || null);
    } else if (id === 'p-process-name') {
      const process = processOf(element);
      if (process && (process.name || '') !== value) {
        modeling.updateModdleProperties(element, process, { name: value || undefined });
      }
    } else if (id === 'p-lane-role') {
      lanes.write(bo);
    } else if (messages.ids.includes(id)) {
      messages.write(element, id);
    } else if (PROPERTIES[id]) {
      if (spiffProperty(bo, PROPERTIES[id]) === value) return;
      setSpiffProperty(element, PROPERTIES[id], value);
      const layout = data.layouts.find((name) => value.endsWith('schema.json')
        && name === `${value.slice(0, -'schema.json'.length)}uischema.json`);
      if (id === 'p-form' && layout && !spiffProperty(bo, PROPERTIES['p-layout'])) {
        setSpiffProperty(element, PROPERTIES['p-layout'], layout);
        field('p-layout').value = layout;
      }
    } else if (id === 'p-instructions') {
      const old = extension(bo, 'spiffworkflow:InstructionsForEndUser');
      if ((old ? old.text || '' : '') !== value) setBodyExtension(element, 'spiffworkflow:InstructionsForEndUser', value);
    } else if (id === 'p-script') {
      if ((bo.script || '') !== value) modeling.updateProperties(element, { script: value || undefined });
    } else if (id === 'p-condition') {
      const old = bo.conditionExpression ? bo.conditionExpression.body || '' : '';
      if (old !== value) modeling.updateProperties(element, { conditionExpression: expression(value) });
    } else if (id === 'p-decision') {
      const old = extension(bo, 'spiffworkflow:CalledDecisionId');
      if ((old ? old.text || '' : '') !== value) setBodyExtension(element, 'spiffworkflow:CalledDecisionId', value);
    } else if (id === 'p-timer' || id === 'p-timer-kind') {
      const timer = timerOf(bo);
      const kind = field('p-timer-kind').value;
      const text = field('p-timer').value.trim();
      const changes = Object.fromEntries(TIMER_KINDS.map((k) => [k, k === kind ? expression(text) : undefined]));
      modeling.updateModdleProperties(element, timer, changes);
    }
  }

  const ids = ['p-name', 'p-process-name', 'p-lane-role', 'p-instructions', 'p-script', 'p-condition', 'p-decision',
    'p-timer', 'p-timer-kind', ...messages.ids, ...Object.keys(PROPERTIES)];
  for (const id of ids) field(id).addEventListener('change', () => write(id));

  modeler.on('selection.changed', (event) => show(event.newSelection.length === 1 ? event.newSelection[0] : null));
  modeler.on('elements.changed', (event) => {
    if (current && event.elements.some((e) => e === current || e.businessObject === current.businessObject)) {
      refreshing = true;
      try {
        const selected = selection.get();
        show(selected.length === 1 ? registry.get(selected[0].id) || null : null);
      } finally {
        refreshing = false;
      }
    }
  });

  show(null);

  return {
    lanes,
    select(id) {
      const element = registry.get(id);
      if (!element) return;
      selection.select(element);
      canvas.scrollToElement(element);
    },
    // A field being typed in has not fired its change event yet: write it before saving.
    flush() {
      const active = document.activeElement;
      if (active && ids.includes(active.id)) write(active.id);
    },
  };
}
