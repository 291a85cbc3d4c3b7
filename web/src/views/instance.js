// One process instance: its diagram (tokens now, the path taken), incidents with retry, tasks, variables,
// history as a timeline, and cancel.
import { h, clear } from '../dom.js';
import { t, tOr, fmtDateTime } from '../i18n.js';
import { get, post, search, variablesOf } from '../api.js';
import { canOperate } from '../session.js';
import { navigate, pageTitle, instanceStateBadge, errorBox, errorText, toast, busy, button } from '../ui.js';
import { showDiagram } from '../diagram.js';
import { taskTable } from './inbox.js';

export async function renderInstance({ main, isCurrent }, key) {
  const inst = await get('/v2/process-instances/' + key);
  if (!isCurrent()) return;
  const reload = () => navigate('/instances/' + key + '?r=' + Date.now());
  const active = inst.state === 'ACTIVE';

  const actions = h('div', { class: 'actions' });
  if (active && canOperate()) {
    actions.append(button(t('instance.cancel'), (e) => {
      const btn = e.currentTarget;
      if (!confirm(t('instance.cancelConfirm', { key }))) return;
      busy(btn, async () => {
        try { await post(`/v2/process-instances/${key}/cancellation`, {}); toast(t('instance.cancelled')); reload(); } catch (ex) { toast(errorText(ex), 'bad'); }
      });
    }, { class: 'danger', id: 'cancel-instance' }));
  }
  const recordLink = h('span');
  const diagramBox = h('div', { class: 'diagram', id: 'diagram', role: 'img', 'aria-label': t('diagram.label', { name: inst.processDefinitionName || inst.processDefinitionId }) });
  const incidentsArea = h('div', { id: 'incidents' }, h('p', { class: 'loading' }, t('common.loading')));
  const tasksArea = h('div', null, h('p', { class: 'loading' }, t('common.loading')));
  const varsArea = h('div', null, h('p', { class: 'loading' }, t('common.loading')));
  const historyArea = h('div', null, h('p', { class: 'loading' }, t('common.loading')));

  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/processes/' + inst.processDefinitionKey }, `${inst.processDefinitionName || inst.processDefinitionId} v${inst.processDefinitionVersion ?? ''}`)),
    pageTitle(t('instance.title', { key })),
    h('dl', { class: 'details' },
      h('dt', null, t('instance.state')), h('dd', { id: 'instance-state' }, instanceStateBadge(inst.state), inst.hasIncident ? h('span', { class: 'badge incident' }, t('instance.hasIncident')) : null),
      h('dt', null, t('instance.started')), h('dd', null, fmtDateTime(inst.startDate)),
      inst.endDate ? [h('dt', null, t('instance.ended')), h('dd', null, fmtDateTime(inst.endDate))] : null,
      h('dt', null, t('instance.record')), h('dd', null, recordLink)),
    actions,
    h('section', { class: 'card', 'aria-labelledby': 'diag-h' }, h('h2', { id: 'diag-h' }, t('instance.diagram')), diagramBox,
      h('p', { class: 'legend' },
        h('span', { class: 'swatch active' }), ' ', t('instance.legendActive'), ' ',
        h('span', { class: 'swatch completed' }), ' ', t('instance.legendCompleted'), ' ',
        h('span', { class: 'swatch incident' }), ' ', t('instance.legendIncident'), ' ',
        h('span', { class: 'swatch taken' }), ' ', t('instance.legendTaken'))),
    h('section', { class: 'card', 'aria-labelledby': 'inc-h' }, h('h2', { id: 'inc-h' }, t('instance.incidents')), incidentsArea),
    h('section', { class: 'card', 'aria-labelledby': 'tasks-h' }, h('h2', { id: 'tasks-h' }, t('instance.tasks')), tasksArea),
    h('div', { class: 'two-col' },
      h('section', { class: 'card', 'aria-labelledby': 'vars-h' }, h('h2', { id: 'vars-h' }, t('instance.variables')), varsArea),
      h('section', { class: 'card', 'aria-labelledby': 'hist-h' }, h('h2', { id: 'hist-h' }, t('instance.history')), historyArea)));

  const settle = (p, area, fn) => p.then((r) => { if (isCurrent()) { clear(area); fn(r); } })
    .catch((e) => { if (isCurrent()) clear(area).append(errorBox(e)); });

  const elemsP = search('/v2/element-instances/search', { filter: { processInstanceKey: key }, page: { from: 0, limit: 10000 } }).then((r) => r.items || []);
  const historyP = get(`/v2/crm/process-instances/${key}/history`).then((r) => r.items || []);
  const xmlP = get(`/v2/process-definitions/${inst.processDefinitionKey}/xml`, { text: true });

  settle(search('/v2/incidents/search', { filter: { processInstanceKey: key }, page: { from: 0, limit: 100 } }), incidentsArea, (r) => {
    const items = r.items || [];
    if (!items.length) { incidentsArea.append(h('p', { class: 'empty', id: 'no-incidents' }, t('instance.noIncidents'))); return; }
    incidentsArea.append(h('ul', { class: 'incidents' }, items.map((inc) => h('li', { class: 'incident-item', dataset: { key: inc.incidentKey } },
      h('div', null, h('strong', null, tOr('incidentType.' + inc.errorType, inc.errorType)), ' · ', h('code', null, inc.elementId),
        h('p', { class: 'incident-message' }, inc.errorMessage || ''), h('span', { class: 'muted' }, fmtDateTime(inc.creationTime))),
      canOperate() ? button(t('instance.retry'), (e) => busy(e.currentTarget, async () => {
        try { await post(`/v2/incidents/${inc.incidentKey}/resolution`, {}); toast(t('instance.retried')); reload(); } catch (ex) { toast(errorText(ex), 'bad'); }
      }), { class: 'retry', 'aria-label': t('instance.retryLabel', { element: inc.elementId }) }) : null))));
  });

  settle(search('/v2/user-tasks/search', { filter: { processInstanceKey: key }, sort: [{ field: 'creationDate', order: 'DESC' }], page: { from: 0, limit: 50 } }), tasksArea, (r) => {
    if (!(r.items || []).length) tasksArea.append(h('p', { class: 'empty' }, t('instance.noTasks')));
    else tasksArea.append(taskTable(r.items, { id: 'instance-tasks' }));
  });

  settle(variablesOf(key), varsArea, (vars) => {
    const rk = vars.find((v) => v.name === 'recordKey');
    const rt = vars.find((v) => v.name === 'recordType');
    if (rk && rt) {
      const k = JSON.parse(rk.value);
      const ty = JSON.parse(rt.value);
      recordLink.append(h('a', { href: `#/records/${ty}/${k}` }, `${ty} ${k}`));
    } else recordLink.append('—');
    if (!vars.length) { varsArea.append(h('p', { class: 'empty' }, t('instance.noVariables'))); return; }
    varsArea.append(h('table', { class: 'vars' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('instance.varName')), h('th', { scope: 'col' }, t('instance.varValue')))),
      h('tbody', null, vars.sort((a, b) => a.name.localeCompare(b.name)).map((v) => h('tr', null, h('th', { scope: 'row' }, v.name), h('td', null, h('code', { class: 'value' }, v.value)))))));
  });

  settle(historyP, historyArea, (items) => {
    if (!items.length) { historyArea.append(h('p', { class: 'empty' }, t('instance.noHistory'))); return; }
    historyArea.append(h('ol', { class: 'timeline', id: 'timeline' }, items.map((ev) => h('li', { class: 'ev-' + String(ev.kind).toLowerCase() },
      h('time', { datetime: ev.at }, fmtDateTime(ev.at)),
      h('span', { class: 'ev-kind' }, tOr('history.' + ev.kind, ev.kind)),
      ev.elementId ? h('code', null, ev.elementId) : null,
      ev.detail ? h('span', { class: 'ev-detail' }, ev.detail) : null,
      ev.actor ? h('span', { class: 'muted ev-actor' }, ev.actor) : null))));
  });

  try {
    const xml = await xmlP;
    if (!isCurrent()) return;
    const d = await showDiagram(diagramBox, xml);
    diagramBox.before(h('div', { class: 'diagram-tools' },
      button(t('diagram.zoomIn'), () => d.zoom(1.25)), button(t('diagram.zoomOut'), () => d.zoom(0.8)), button(t('diagram.fit'), () => d.fit())));
    const [elems, history] = await Promise.all([elemsP.catch(() => []), historyP.catch(() => [])]);
    if (!isCurrent()) return;
    markPath(d, elems, history);
  } catch (e) {
    if (isCurrent()) clear(diagramBox).append(errorBox(e));
  }
}

// Markers: cf-active (a token is there now), cf-completed, cf-terminated, cf-incident on elements;
// cf-taken on the sequence flows taken (from the history, else inferred from the elements' states).
function markPath(d, elems, history) {
  const state = new Map();
  const rank = { ACTIVE: 3, COMPLETED: 2, TERMINATED: 1 };
  const activeCount = new Map();
  for (const e of elems) {
    if (e.type === 'PROCESS') continue;
    const prev = state.get(e.elementId);
    if (!prev || (rank[e.state] || 0) > (rank[prev] || 0)) state.set(e.elementId, e.state);
    if (e.state === 'ACTIVE') activeCount.set(e.elementId, (activeCount.get(e.elementId) || 0) + 1);
    if (e.hasIncident) d.mark(e.elementId, 'cf-incident');
  }
  for (const ev of history) {
    if (ev.kind === 'ELEMENT_COMPLETED' && ev.elementId && !state.has(ev.elementId)) state.set(ev.elementId, 'COMPLETED');
  }
  for (const [id, st] of state) {
    d.mark(id, 'cf-' + st.toLowerCase());
    if (st === 'ACTIVE') d.badge(id, { bottom: 8, left: -8 }, 'active', String(activeCount.get(id) || 1), t('instance.tokenTitle'));
  }
  const taken = new Set(history.filter((ev) => ev.kind === 'SEQUENCE_FLOW_TAKEN' && ev.elementId).map((ev) => ev.elementId));
  if (!taken.size) {
    // No flow events: a flow is taken when its source finished and its target was reached.
    for (const el of d.elements()) {
      if (el.type !== 'bpmn:SequenceFlow' || !el.source || !el.target) continue;
      const s = state.get(el.source.id);
      const tg = state.get(el.target.id);
      if (s === 'COMPLETED' && tg) taken.add(el.id);
    }
  }
  for (const id of taken) d.mark(id, 'cf-taken');
}
