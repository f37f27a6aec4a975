// Which role works each lane's tasks. Tsunagu reads a task's role from its lane (engine/runtime/roles_map.py):
// the package's tsunagu.json maps a lane name to a role code, else a lane named with a role code is that role,
// else the municipality's default role works it. The mapping lives beside the diagram, not in it, so this
// keeps it here (from the page's data island), follows a lane that is renamed (by the panel, on the canvas or
// by undo) and hands it to the save form as JSON.
import { is } from 'bpmn-js/lib/util/ModelUtil';

export function createLanes(modeler, data) {
  const registry = modeler.get('elementRegistry');
  const field = (id) => document.getElementById(id);
  const laneRoles = { ...(data.laneRoles || {}) };
  let changed = Boolean(data.unsaved);
  const lanes = () => registry.filter((e) => is(e, 'bpmn:Lane'));
  const names = new Map(lanes().map((e) => [e.id, e.businessObject.name || '']));
  const roleName = (code) => data.roles[code];

  modeler.on('elements.changed', ({ elements }) => {
    for (const element of elements) {
      if (!is(element, 'bpmn:Lane')) continue;
      const before = names.get(element.id);
      const after = element.businessObject.name || '';
      names.set(element.id, after);
      if (before === undefined || before === after || !(before in laneRoles) || !after || after in laneRoles) continue;
      laneRoles[after] = laneRoles[before];
      // Two lanes may share a name (and so a mapping): the other one keeps it.
      const shared = lanes().some((e) => e.id !== element.id && (e.businessObject.name || '') === before);
      if (!shared) delete laneRoles[before];
      changed = true;
    }
  });

  // The role code that works a lane's tasks, or null for the municipality's default role.
  function effectiveRole(laneName) {
    const mapped = laneRoles[laneName];
    if (mapped && roleName(mapped)) return mapped;
    return roleName(laneName) ? laneName : null;
  }

  return {
    effectiveRole,
    // What the task panel says about a lane: the role's name with the lane's, or that the default role works it.
    describe(lane) {
      const name = lane.name || lane.id;
      const role = effectiveRole(lane.name || '');
      if (!role) return data.text.laneDefaultRole.replace('%(lane)s', name);
      return role === name ? `${roleName(role)} (${name})` : `${roleName(role)} (${name} → ${role})`;
    },
    show(lane) {
      const name = lane.name || '';
      const none = field('p-lane-role-none');
      none.textContent = roleName(name) ? data.text.laneNameIsRole.replace('%(role)s', roleName(name))
        : data.text.laneNoRole;
      field('p-lane-role').value = laneRoles[name] && roleName(laneRoles[name]) ? laneRoles[name] : '';
    },
    write(lane) {
      const name = lane.name || '';
      const value = field('p-lane-role').value;
      if ((laneRoles[name] || '') === value) return;
      if (value) laneRoles[name] = value;
      else delete laneRoles[name];
      changed = true;
    },
    changed: () => changed,
    json: () => JSON.stringify(laneRoles),
  };
}
