// Process definitions, grouped by id, with their versions.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { search } from '../api.js';
import { pageTitle } from '../ui.js';

export async function renderProcesses({ main, isCurrent }) {
  main.append(pageTitle(t('processes.title')));
  const r = await search('/v2/process-definitions/search', { sort: [{ field: 'processDefinitionId', order: 'ASC' }], page: { from: 0, limit: 1000 } });
  if (!isCurrent()) return;
  const byId = new Map();
  for (const d of r.items || []) {
    if (!byId.has(d.processDefinitionId)) byId.set(d.processDefinitionId, []);
    byId.get(d.processDefinitionId).push(d);
  }
  if (!byId.size) { main.append(h('p', { class: 'empty' }, t('processes.empty'))); return; }
  main.append(h('table', { class: 'responsive', id: 'process-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('processes.name')),
      h('th', { scope: 'col' }, t('processes.id')),
      h('th', { scope: 'col' }, t('processes.versions')))),
    h('tbody', null, [...byId.values()].map((defs) => {
      defs.sort((a, b) => b.version - a.version);
      const latest = defs[0];
      return h('tr', null,
        h('td', { 'data-label': t('processes.name') }, h('a', { href: '#/processes/' + latest.processDefinitionKey }, latest.name || latest.processDefinitionId)),
        h('td', { 'data-label': t('processes.id') }, h('code', null, latest.processDefinitionId)),
        h('td', { 'data-label': t('processes.versions') }, h('ul', { class: 'inline-list' },
          defs.map((d) => h('li', null, h('a', { href: '#/processes/' + d.processDefinitionKey, 'aria-label': t('processes.versionLabel', { name: d.name || d.processDefinitionId, version: d.version }) }, 'v' + d.version))))));
    }))));
}
