// One process definition version: its diagram with active instances and incidents per element, its instances.
import { h, clear } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { get, search } from '../api.js';
import { navigate, pageTitle, pager, instanceStateBadge, errorBox, button } from '../ui.js';
import { showDiagram } from '../diagram.js';

const LIMIT = 50;

export async function renderDefinition({ main, query, isCurrent }, key) {
  const def = await get('/v2/process-definitions/' + key);
  if (!isCurrent()) return;
  const state = ['ACTIVE', 'COMPLETED', 'TERMINATED', 'INCIDENT', 'ALL'].includes(query.get('state')) ? query.get('state') : 'ACTIVE';
  const from = Math.max(0, parseInt(query.get('from') || '0', 10) || 0);

  const versions = h('ul', { class: 'inline-list', 'aria-label': t('processes.versions') });
  const diagramBox = h('div', { class: 'diagram', id: 'diagram', role: 'img', 'aria-label': t('diagram.label', { name: def.name || def.processDefinitionId }) });
  const legend = h('p', { class: 'legend' },
    h('span', { class: 'cf-badge active' }, 'n'), ' ', t('definition.legendActive'), ' ',
    h('span', { class: 'cf-badge incidents' }, 'n'), ' ', t('definition.legendIncidents'));
  const statsNote = h('p', { class: 'muted', hidden: true });
  const instArea = h('div', null, h('p', { class: 'loading' }, t('common.loading')));
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/processes' }, t('processes.title'))),
    pageTitle(t('definition.title', { name: def.name || def.processDefinitionId, version: def.version })),
    h('p', { class: 'muted' }, h('code', null, def.processDefinitionId), ' · ', t('definition.key', { key })),
    versions,
    h('section', { class: 'card', 'aria-labelledby': 'diag-h' }, h('h2', { id: 'diag-h' }, t('definition.diagram')), diagramBox, legend, statsNote),
    h('section', { class: 'card', 'aria-labelledby': 'inst-h' }, h('h2', { id: 'inst-h' }, t('definition.instances')),
      h('div', { class: 'field inline' }, h('label', { for: 'inst-state' }, t('definition.state')),
        h('select', { id: 'inst-state', onchange: (e) => navigate(`/processes/${key}?state=${e.target.value}`) },
          ['ACTIVE', 'INCIDENT', 'COMPLETED', 'TERMINATED', 'ALL'].map((s) => h('option', { value: s, selected: s === state }, t('definition.filter.' + s))))),
      instArea));

  search('/v2/process-definitions/search', { filter: { processDefinitionId: def.processDefinitionId }, page: { from: 0, limit: 100 } })
    .then((r) => {
      if (!isCurrent()) return;
      const list = (r.items || []).sort((a, b) => a.version - b.version);
      if (list.length < 2) return;
      versions.append(h('li', null, t('processes.versions') + ':'), list.map((d) => h('li', null,
        String(d.processDefinitionKey) === String(key) ? h('strong', { 'aria-current': 'page' }, 'v' + d.version) : h('a', { href: '#/processes/' + d.processDefinitionKey }, 'v' + d.version))));
    }).catch(() => {});

  const filter = { processDefinitionKey: key };
  if (state === 'INCIDENT') { filter.state = 'ACTIVE'; filter.hasIncident = true; } else if (state !== 'ALL') filter.state = state;
  search('/v2/process-instances/search', { filter, sort: [{ field: 'startDate', order: 'DESC' }], page: { from, limit: LIMIT } })
    .then((r) => {
      if (!isCurrent()) return;
      clear(instArea);
      if (!(r.items || []).length) { instArea.append(h('p', { class: 'empty' }, t('definition.noInstances'))); return; }
      instArea.append(instanceTable(r.items), pager(r.page, from, LIMIT, (f) => navigate(`/processes/${key}?state=${state}&from=${f}`)));
    }).catch((e) => { if (isCurrent()) clear(instArea).append(errorBox(e)); });

  try {
    const xml = await get(`/v2/process-definitions/${key}/xml`, { text: true });
    if (!isCurrent()) return;
    const d = await showDiagram(diagramBox, xml);
    diagramBox.before(h('div', { class: 'diagram-tools' },
      button(t('diagram.zoomIn'), () => d.zoom(1.25)), button(t('diagram.zoomOut'), () => d.zoom(0.8)), button(t('diagram.fit'), () => d.fit())));
    try {
      const stats = await get(`/v2/crm/process-definitions/${key}/statistics`);
      for (const s of stats.items || []) {
        if (s.active) d.badge(s.elementId, { bottom: 8, left: -8 }, 'active', String(s.active), t('definition.activeTitle', { n: s.active }));
        if (s.incidents) {
          d.badge(s.elementId, { bottom: 8, right: 8 }, 'incidents', String(s.incidents), t('definition.incidentsTitle', { n: s.incidents }));
          d.mark(s.elementId, 'cf-incident');
        }
      }
    } catch (e) {
      statsNote.textContent = t('definition.noStatistics');
      statsNote.hidden = false;
    }
  } catch (e) {
    if (isCurrent()) clear(diagramBox).append(errorBox(e));
  }
}

export function instanceTable(items, id) {
  return h('table', { class: 'responsive', id: id || 'instance-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('instance.key')),
      h('th', { scope: 'col' }, t('instance.process')),
      h('th', { scope: 'col' }, t('instance.state')),
      h('th', { scope: 'col' }, t('instance.started')),
      h('th', { scope: 'col' }, t('instance.ended')))),
    h('tbody', null, items.map((i) => h('tr', null,
      h('td', { 'data-label': t('instance.key') }, h('a', { href: '#/instances/' + i.processInstanceKey }, i.processInstanceKey)),
      h('td', { 'data-label': t('instance.process') }, `${i.processDefinitionName || i.processDefinitionId} v${i.processDefinitionVersion ?? ''}`),
      h('td', { 'data-label': t('instance.state') }, instanceStateBadge(i.state), i.hasIncident ? h('span', { class: 'badge incident' }, t('instance.hasIncident')) : null),
      h('td', { 'data-label': t('instance.started') }, fmtDateTime(i.startDate)),
      h('td', { 'data-label': t('instance.ended') }, fmtDateTime(i.endDate))))));
}
