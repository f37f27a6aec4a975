// The message settings of message events and send/receive tasks, written as SpiffWorkflow's spiff parser
// reads them (SpiffWorkflow/spiff/parser/event_parsers.py): the event's bpmn:messageEventDefinition (or the
// send/receive task itself) refers by messageRef to a bpmn:message of the definitions; its extensionElements
// hold spiffworkflow:messagePayload (the expression a throwing element sends) or spiffworkflow:messageVariable
// (where a catching element puts what arrives). Correlation is the message's bpmn:correlationProperty
// elements of the definitions, each with a bpmn:correlationPropertyRetrievalExpression (messageRef and a
// formal expression on the payload); a collaboration's bpmn:correlationKey groups them, else SpiffWorkflow puts
// them in MainCorrelationKey. Every change goes through modeling commands, so undo covers it.
import { is } from 'bpmn-js/lib/util/ModelUtil';

const LINE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$/;

// The moddle element that carries the message: an event's message definition, or a send/receive task.
export function messageHolder(bo) {
  if (is(bo, 'bpmn:SendTask') || is(bo, 'bpmn:ReceiveTask')) return bo;
  return (bo.eventDefinitions || []).find((d) => is(d, 'bpmn:MessageEventDefinition')) || null;
}

// Whether the element sends its message (else it waits for one).
export function throwsMessage(bo) {
  return is(bo, 'bpmn:SendTask') || is(bo, 'bpmn:IntermediateThrowEvent') || is(bo, 'bpmn:EndEvent');
}

export function createMessages(modeler, data, field) {
  const moddle = modeler.get('moddle');
  const modeling = modeler.get('modeling');
  const bpmnFactory = modeler.get('bpmnFactory');
  const definitions = () => modeler.getDefinitions();
  const roots = () => definitions().get('rootElements');
  const messages = () => roots().filter((r) => is(r, 'bpmn:Message'));
  const properties = () => roots().filter((r) => is(r, 'bpmn:CorrelationProperty'));

  function bodyOf(holder, type) {
    const values = holder.extensionElements ? holder.extensionElements.get('values') : [];
    const found = values.find((v) => is(v, type));
    return found ? found.text || '' : '';
  }

  function setBody(element, holder, type, value) {
    const values = holder.extensionElements ? holder.extensionElements.get('values').slice() : [];
    const at = values.findIndex((v) => is(v, type));
    const replacement = value ? moddle.create(type, { text: value }) : null;
    if (at >= 0 && replacement) values[at] = replacement;
    else if (at >= 0) values.splice(at, 1);
    else if (replacement) values.push(replacement);
    const extensionElements = values.length ? moddle.create('bpmn:ExtensionElements', { values }) : undefined;
    values.forEach((v) => { v.$parent = extensionElements; });
    if (extensionElements) extensionElements.$parent = holder;
    modeling.updateModdleProperties(element, holder, { extensionElements });
  }

  // The message's correlation as the panel shows it: one `property = expression` a line.
  function correlationOf(message) {
    if (!message) return '';
    const lines = [];
    for (const prop of properties()) {
      for (const retrieval of prop.get('correlationPropertyRetrievalExpression')) {
        if (retrieval.messageRef === message && retrieval.messagePath) {
          lines.push(`${prop.id} = ${retrieval.messagePath.body || ''}`);
        }
      }
    }
    return lines.join('\n');
  }

  function keysOf(message) {
    const used = properties().filter((p) => p.get('correlationPropertyRetrievalExpression')
      .some((r) => r.messageRef === message));
    if (!used.length) return '';
    const collaboration = roots().find((r) => is(r, 'bpmn:Collaboration'));
    const keys = (collaboration ? collaboration.get('correlationKeys') : [])
      .filter((k) => k.get('correlationPropertyRef').some((p) => used.includes(p)));
    return keys.length ? keys.map((k) => k.name || k.id).join(', ') : data.text.defaultKey;
  }

  function messageNamed(element, name) {
    const found = messages().find((m) => (m.name || m.id) === name);
    if (found) return found;
    const created = bpmnFactory.create('bpmn:Message', { name });
    created.$parent = definitions();
    modeling.updateModdleProperties(element, definitions(), { rootElements: [...roots(), created] });
    return created;
  }

  function writeCorrelation(element, message, text) {
    const wanted = new Map();
    for (const line of text.split('\n')) {
      const found = LINE.exec(line);
      if (found) wanted.set(found[1], found[2]);
    }
    const keep = [];
    for (const prop of properties()) {
      const retrievals = prop.get('correlationPropertyRetrievalExpression').filter((r) => r.messageRef !== message);
      if (wanted.has(prop.id)) {
        retrievals.push(retrieval(prop, message, wanted.get(prop.id)));
        wanted.delete(prop.id);
      }
      if (retrievals.length !== prop.get('correlationPropertyRetrievalExpression').length
          || retrievals.some((r, i) => r !== prop.get('correlationPropertyRetrievalExpression')[i])) {
        modeling.updateModdleProperties(element, prop, { correlationPropertyRetrievalExpression: retrievals });
      }
      // SpiffWorkflow refuses a property no message retrieves.
      if (retrievals.length) keep.push(prop);
    }
    const added = [...wanted].map(([name, expression]) => {
      const prop = bpmnFactory.create('bpmn:CorrelationProperty', { id: name, name });
      prop.$parent = definitions();
      prop.set('correlationPropertyRetrievalExpression', [retrieval(prop, message, expression)]);
      return prop;
    });
    const removed = properties().filter((p) => !keep.includes(p));
    if (added.length || removed.length) {
      const rootElements = [...roots().filter((r) => !removed.includes(r)), ...added];
      modeling.updateModdleProperties(element, definitions(), { rootElements });
    }
  }

  function retrieval(prop, message, expression) {
    const made = moddle.create('bpmn:CorrelationPropertyRetrievalExpression', {
      messageRef: message, messagePath: moddle.create('bpmn:FormalExpression', { body: expression }),
    });
    made.$parent = prop;
    made.messagePath.$parent = made;
    return made;
  }

  return {
    show(element, put) {
      const bo = element.businessObject;
      const holder = messageHolder(bo);
      const message = holder.messageRef || null;
      field('message-names').replaceChildren(...messages().map((m) => {
        const option = document.createElement('option');
        option.value = m.name || m.id;
        return option;
      }));
      put('p-message', message ? message.name || message.id : '');
      put('p-payload', bodyOf(holder, 'spiffworkflow:MessagePayload'));
      put('p-message-variable', bodyOf(holder, 'spiffworkflow:MessageVariable'));
      put('p-correlation', correlationOf(message));
      field('p-correlation-keys').textContent = keysOf(message) || '—';
    },
    write(element, id) {
      const holder = messageHolder(element.businessObject);
      const value = field(id).value.trim();
      if (id === 'p-message') {
        const old = holder.messageRef ? holder.messageRef.name || holder.messageRef.id : '';
        if (old === value) return;
        const message = value ? messageNamed(element, value) : undefined;
        modeling.updateModdleProperties(element, holder, { messageRef: message });
      } else if (id === 'p-payload' || id === 'p-message-variable') {
        const type = id === 'p-payload' ? 'spiffworkflow:MessagePayload' : 'spiffworkflow:MessageVariable';
        if (bodyOf(holder, type) !== value) setBody(element, holder, type, value);
      } else if (id === 'p-correlation') {
        const message = holder.messageRef;
        if (message && correlationOf(message) !== value) writeCorrelation(element, message, value);
      }
    },
    ids: ['p-message', 'p-payload', 'p-message-variable', 'p-correlation'],
  };
}
