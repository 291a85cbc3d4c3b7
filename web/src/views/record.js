// One CRM record: edit its fields (a 400 names the field: shown next to it), its history, its
// processes and their tasks.
import { h, clear } from '../dom.js';
import { t, tOr, fmtDateTime } from '../i18n.js';
import { get, patch, search } from '../api.js';
import { pageTitle, errorBox, errorText, toast, busy, navigate } from '../ui.js';
import { recordTypes, tyLabel, fieldLabel, show } from './records.js';
import { instanceTable } from './definition.js';
import { taskTable } from './inbox.js';

export async function renderRecord({ main, isCurrent }, typeName, key) {
  const [types, rec] = await Promise.all([recordTypes(), get(`/v2/crm/records/${typeName}/${key}`)]);
  if (!isCurrent()) return;
  const type = types.find((x) => x.name === typeName) || { name: typeName, fields: [] };

  const inputs = new Map();
  const formEl = h('form', { class: 'card record-form', novalidate: true, 'aria-labelledby': 'rec-form-h' }, h('h2', { id: 'rec-form-h' }, t('record.fields')));
  for (const f of type.fields) {
    const id = 'f-' + f.name;
    const errId = id + '-error';
    const v = rec.fields[f.name];
    let input;
    let read;
    const common = { id, name: f.name, 'aria-describedby': errId, required: !!f.required };
    if (f.type === 'enum') {
      input = h('select', common, f.required ? null : h('option', { value: '' }, t('record.none')),
        (f.values || []).map((x) => h('option', { value: x, selected: v === x }, tOr(`value.${typeName}.${f.name}.${x}`, x))));
      read = () => (input.value === '' ? null : input.value);
    } else if (f.type === 'boolean') {
      input = h('input', { ...common, type: 'checkbox', checked: v === true });
      read = () => input.checked;
    } else if (f.type === 'date') {
      input = h('input', { ...common, type: 'date', value: v || '' });
      read = () => input.value || null;
    } else if (f.type === 'decimal') {
      input = h('input', { ...common, type: 'text', inputmode: 'decimal', value: show(v) });
      read = () => (input.value.trim() === '' ? null : input.value.trim());
    } else if (f.type === 'email') {
      input = h('input', { ...common, type: 'email', value: show(v), autocomplete: 'off' });
      read = () => input.value.trim() || null;
    } else if (f.type === 'phone') {
      input = h('input', { ...common, type: 'tel', value: show(v), autocomplete: 'off' });
      read = () => input.value.trim() || null;
    } else {
      input = h('input', { ...common, type: 'text', value: show(v), autocomplete: 'off' });
      read = () => (input.value === '' ? null : input.value);
    }
    const err = h('span', { class: 'field-error', id: errId, hidden: true });
    inputs.set(f.name, { input, read, err, orig: v === undefined ? null : v, f });
    const label = h('label', { for: id }, fieldLabel(typeName, f.name), f.required ? h('span', { 'aria-hidden': 'true', class: 'req' }, ' *') : null);
    formEl.append(h('div', { class: f.type === 'boolean' ? 'field check' : 'field' }, label,
      f.type === 'reference' && v ? h('span', { class: 'ref' }, input, ' ', h('a', { href: `#/records/${f.refType}/${v}` }, t('record.openRef'))) : input, err));
  }
  const status = h('p', { class: 'error', role: 'alert', hidden: true, id: 'record-error' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'save-record' }, t('record.save'));
  formEl.append(status, h('div', { class: 'actions' }, save));
  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(save, async () => {
      status.hidden = true;
      const fields = {};
      for (const [name, x] of inputs) {
        x.err.hidden = true;
        x.input.removeAttribute('aria-invalid');
        const nv = x.read();
        if (String(nv ?? '') !== String(x.orig ?? '')) fields[name] = nv;
      }
      if (!Object.keys(fields).length) { toast(t('record.nothingChanged')); return; }
      try {
        await patch(`/v2/crm/records/${typeName}/${key}`, { fields, version: rec.version });
        toast(t('record.saved'));
        navigate(`/records/${typeName}/${key}?r=${Date.now()}`);
      } catch (ex) {
        const m = /fields\.([\w-]+)\s*:?\s*(.*)/.exec((ex.problem && ex.problem.detail) || '');
        const x = m && inputs.get(m[1]);
        if (ex.status === 400 && x) {
          x.err.textContent = m[2] || ex.message;
          x.err.hidden = false;
          x.input.setAttribute('aria-invalid', 'true');
          x.input.focus();
        } else {
          status.textContent = ex.status === 409 ? t('record.conflict') : errorText(ex);
          status.hidden = false;
        }
      }
    });
  });

  const histArea = h('div', null, h('p', { class: 'loading' }, t('common.loading')));
  const instArea = h('div', null, h('p', { class: 'loading' }, t('common.loading')));
  const taskArea = h('div', null, h('p', { class: 'loading' }, t('common.loading')));
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/records/' + typeName }, tyLabel(typeName))),
    pageTitle(t('record.title', { type: tyLabel(typeName), key })),
    h('p', { class: 'muted' }, t('record.meta', { version: rec.version, created: fmtDateTime(rec.fields.createdAt), createdBy: rec.createdBy || '', updated: fmtDateTime(rec.fields.updatedAt), updatedBy: rec.updatedBy || '' })),
    formEl,
    h('section', { class: 'card', 'aria-labelledby': 'rec-inst-h' }, h('h2', { id: 'rec-inst-h' }, t('record.instances')), instArea),
    h('section', { class: 'card', 'aria-labelledby': 'rec-task-h' }, h('h2', { id: 'rec-task-h' }, t('record.tasks')), taskArea),
    h('section', { class: 'card', 'aria-labelledby': 'rec-hist-h' }, h('h2', { id: 'rec-hist-h' }, t('record.history')), histArea));

  const keyFilter = [{ name: 'recordKey', value: JSON.stringify(String(key)) }];
  search('/v2/process-instances/search', { filter: { variables: keyFilter }, sort: [{ field: 'startDate', order: 'DESC' }], page: { from: 0, limit: 50 } })
    .then((r) => {
      if (!isCurrent()) return;
      clear(instArea);
      if (!(r.items || []).length) instArea.append(h('p', { class: 'empty' }, t('record.noInstances')));
      else instArea.append(instanceTable(r.items, 'record-instances'));
    }).catch((e) => { if (isCurrent()) clear(instArea).append(errorBox(e)); });
  search('/v2/user-tasks/search', { filter: { processInstanceVariables: keyFilter }, sort: [{ field: 'creationDate', order: 'DESC' }], page: { from: 0, limit: 50 } })
    .then((r) => {
      if (!isCurrent()) return;
      clear(taskArea);
      if (!(r.items || []).length) taskArea.append(h('p', { class: 'empty' }, t('record.noTasks')));
      else taskArea.append(taskTable(r.items, { id: 'record-tasks' }));
    }).catch((e) => { if (isCurrent()) clear(taskArea).append(errorBox(e)); });
  get(`/v2/crm/records/${typeName}/${key}/history`)
    .then((r) => {
      if (!isCurrent()) return;
      clear(histArea);
      const items = (r.items || []).slice().reverse();
      if (!items.length) { histArea.append(h('p', { class: 'empty' }, t('record.noHistory'))); return; }
      histArea.append(h('ol', { class: 'timeline', id: 'record-history' }, items.map((ev) => h('li', null,
        h('time', { datetime: ev.at }, fmtDateTime(ev.at)),
        h('span', { class: 'ev-kind' }, tOr('recordChange.' + ev.kind, ev.kind)),
        h('span', { class: 'muted ev-actor' }, ev.by || ''),
        h('ul', { class: 'changes' }, Object.entries(ev.changes || {}).map(([name, c]) => h('li', null,
          h('strong', null, fieldLabel(typeName, name)), ': ',
          t('record.change', { from: c.from === null || c.from === undefined ? t('record.empty') : show(c.from), to: c.to === null || c.to === undefined ? t('record.empty') : show(c.to) }))))))));
    }).catch((e) => { if (isCurrent()) clear(histArea).append(errorBox(e)); });
}
