// CRM records: the types, and a search within one type (a text field matched with $like), 50 at a time.
import { h, clear } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { get, search } from '../api.js';
import { navigate, pageTitle, pager, errorBox } from '../ui.js';

const LIMIT = 50;
let typesCache = null;

export async function recordTypes() {
  if (!typesCache) typesCache = get('/v2/crm/record-types').then((r) => r.items || []).catch((e) => { typesCache = null; throw e; });
  return typesCache;
}

const TEXT_TYPES = ['string', 'email', 'phone', 'enum'];

export async function renderRecords({ main, query, isCurrent }, typeName) {
  const types = await recordTypes();
  if (!isCurrent()) return;
  main.append(pageTitle(t('records.title')));
  if (!types.length) { main.append(h('p', { class: 'empty' }, t('records.noTypes'))); return; }
  const type = types.find((x) => x.name === typeName) || types.find((x) => x.name === 'lead') || types[0];
  const textFields = type.fields.filter((f) => TEXT_TYPES.includes(f.type));
  const field = textFields.find((f) => f.name === query.get('field')) || textFields[0];
  const q = query.get('q') || '';
  const from = Math.max(0, parseInt(query.get('from') || '0', 10) || 0);
  const go = (p) => {
    const u = new URLSearchParams({ ...(field ? { field: field.name } : {}), q, from: '0', ...p });
    navigate(`/records/${type.name}?${u}`);
  };

  main.append(h('nav', { class: 'tabs', 'aria-label': t('records.types') }, h('ul', null, types.map((ty) =>
    h('li', null, h('a', { href: '#/records/' + ty.name, 'aria-current': ty.name === type.name ? 'page' : null }, tyLabel(ty.name)))))));

  const qInput = h('input', { id: 'record-q', type: 'search', value: q, placeholder: t('records.searchPlaceholder') });
  const fieldSel = h('select', { id: 'record-field' }, textFields.map((f) => h('option', { value: f.name, selected: f === field }, fieldLabel(type.name, f.name))));
  main.append(h('form', {
    class: 'filters', role: 'search', 'aria-label': t('records.search'),
    onsubmit: (e) => { e.preventDefault(); go({ field: fieldSel.value, q: qInput.value.trim() }); },
  },
  textFields.length ? h('div', { class: 'field inline' }, h('label', { for: 'record-field' }, t('records.searchIn')), fieldSel) : null,
  h('div', { class: 'field inline grow' }, h('label', { for: 'record-q' }, t('records.search')), qInput),
  h('button', { type: 'submit' }, t('records.searchButton'))));

  const area = h('div', null, h('p', { class: 'loading' }, t('common.loading')));
  main.append(area);
  const filter = {};
  if (q && field) filter[field.name] = { $like: '*' + q.replace(/[\\*?]/g, (c) => '\\' + c) + '*' };
  try {
    const r = await search(`/v2/crm/records/${type.name}/search`, { filter, sort: [{ field: 'updatedAt', order: 'DESC' }], page: { from, limit: LIMIT } });
    if (!isCurrent()) return;
    clear(area);
    const items = r.items || [];
    if (!items.length) { area.append(h('p', { class: 'empty' }, t('records.empty'))); return; }
    const cols = type.fields.slice(0, 5);
    area.append(h('table', { class: 'responsive', id: 'record-table' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('records.key')),
        cols.map((c) => h('th', { scope: 'col' }, fieldLabel(type.name, c.name))), h('th', { scope: 'col' }, t('records.updatedAt')))),
      h('tbody', null, items.map((rec) => h('tr', null,
        h('td', { 'data-label': t('records.key') }, h('a', { href: `#/records/${type.name}/${rec.recordKey}`, 'aria-label': t('records.open', { type: tyLabel(type.name), key: rec.recordKey }) }, rec.recordKey)),
        cols.map((c) => h('td', { 'data-label': fieldLabel(type.name, c.name) }, show(rec.fields[c.name]))),
        h('td', { 'data-label': t('records.updatedAt') }, fmtDateTime(rec.fields.updatedAt)))))),
    pager(r.page, from, LIMIT, (f) => go({ from: String(f) })));
  } catch (e) {
    if (isCurrent()) clear(area).append(errorBox(e));
  }
}

export function show(v) {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// Built-in types and fields have translated labels; custom ones show their names.
import { tOr } from '../i18n.js';
export const tyLabel = (name) => tOr('recordType.' + name, name);
export const fieldLabel = (type, name) => tOr(`field.${type}.${name}`, tOr('field.' + name, name));
