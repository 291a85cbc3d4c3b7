// One user task: its details, claim and unclaim, and its form (the model's Camunda form rendered with
// form-js, or one generated from the process variables), completed with the form's values.
import { h, clear } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { get, post, del, variablesOf, parseValue, ApiError } from '../api.js';
import { session, canWorkTasks } from '../session.js';
import { navigate, pageTitle, taskStateBadge, isOverdue, errorBox, errorText, toast, busy, button } from '../ui.js';

export async function renderTask({ main, isCurrent }, key) {
  const task = await get('/v2/user-tasks/' + key);
  if (!isCurrent()) return;
  const overdue = isOverdue(task);
  const mine = task.assignee && task.assignee === session.user;
  const open = task.state === 'CREATED';

  const actions = h('div', { class: 'actions' });
  if (open && canWorkTasks()) {
    if (!task.assignee) {
      actions.append(button(t('task.claim'), (e) => act(e.currentTarget, () => post(`/v2/user-tasks/${key}/assignment`, { assignee: session.user }), t('task.claimed')), { id: 'claim' }));
    } else if (mine || session.role === 'admin') {
      actions.append(button(t('task.unclaim'), (e) => act(e.currentTarget, () => del(`/v2/user-tasks/${key}/assignee`), t('task.unclaimed')), { id: 'unclaim' }));
    }
  }
  async function act(btn, fn, done) {
    await busy(btn, async () => {
      try { await fn(); toast(done); navigate('/tasks/' + key + '?r=' + Date.now()); } catch (e) { toast(errorText(e), 'bad'); }
    });
  }

  const details = h('dl', { class: 'details' },
    dt(t('task.state'), taskStateBadge(task)),
    dt(t('task.process'), h('a', { href: '#/instances/' + task.processInstanceKey }, `${task.processName || task.processDefinitionId} · ${task.processInstanceKey}`)),
    dt(t('task.assignee'), task.assignee || t('task.unassigned')),
    dt(t('task.candidateGroups'), (task.candidateGroups || []).join(', ') || '—'),
    dt(t('task.due'), task.dueDate ? h('span', { class: overdue ? 'due overdue' : 'due' }, fmtDateTime(task.dueDate), overdue ? h('span', { class: 'badge overdue-badge' }, t('task.overdue')) : null) : t('task.noDue')),
    dt(t('task.created'), fmtDateTime(task.creationDate)),
    task.completionDate ? dt(t('task.completed'), fmtDateTime(task.completionDate)) : null,
    dt(t('task.priority'), task.priority ?? ''));

  const formArea = h('section', { class: 'card', 'aria-labelledby': 'form-h' }, h('h2', { id: 'form-h' }, t('task.form')));
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/tasks' }, t('task.back'))),
    pageTitle(task.name || task.elementId),
    details, actions, formArea);

  if (!open) {
    formArea.append(h('p', { class: 'muted' }, t('task.notOpen')));
    return;
  }
  if (!canWorkTasks()) {
    formArea.append(h('p', { class: 'muted' }, t('task.cannotWork')));
    return;
  }
  formArea.append(h('p', { class: 'loading' }, t('common.loading')));

  let vars = [];
  let schema = null;
  try {
    const [v, f] = await Promise.all([
      variablesOf(task.processInstanceKey).catch(() => []),
      get(`/v2/user-tasks/${key}/form`, { noRedirect: true }).catch((e) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
        throw e;
      }),
    ]);
    vars = v;
    if (f && f.schema) schema = typeof f.schema === 'string' ? JSON.parse(f.schema) : f.schema;
  } catch (e) {
    if (!isCurrent()) return;
    clear(formArea).append(h('h2', { id: 'form-h' }, t('task.form')), errorBox(e));
    return;
  }
  if (!isCurrent()) return;
  const data = {};
  for (const v of vars) data[v.name] = parseValue(v.value);

  clear(formArea).append(h('h2', { id: 'form-h' }, t('task.form')));
  const status = h('p', { class: 'error', role: 'alert', hidden: true, id: 'complete-error' });
  let collect;
  if (schema) {
    const container = h('div', { class: 'fjs', id: 'task-form' });
    formArea.append(container);
    const { renderForm } = await import('../formview.js');
    const form = await renderForm(container, schema, data);
    collect = () => {
      const r = form.submit();
      if (r.errors && Object.keys(r.errors).length) return null;
      return r.data;
    };
  } else {
    const gen = generatedForm(vars);
    formArea.append(h('p', { class: 'muted' }, t('task.generatedForm')), gen.el);
    collect = gen.collect;
  }
  const complete = h('button', { type: 'button', class: 'primary', id: 'complete' }, t('task.complete'));
  complete.addEventListener('click', () => busy(complete, async () => {
    status.hidden = true;
    const values = collect();
    if (!values) {
      status.textContent = t('task.formInvalid');
      status.hidden = false;
      return;
    }
    try {
      if (!task.assignee) await post(`/v2/user-tasks/${key}/assignment`, { assignee: session.user });
      await post(`/v2/user-tasks/${key}/completion`, { variables: values });
      toast(t('task.completedToast', { name: task.name || key }));
      navigate('/tasks');
    } catch (e) {
      status.textContent = errorText(e);
      status.hidden = false;
    }
  }));
  formArea.append(status, h('div', { class: 'actions' }, complete));
}

function dt(label, value) {
  return [h('dt', null, label), h('dd', null, value)];
}

// A form from the process variables: one field per variable (by its JSON type), and new variables.
function generatedForm(vars) {
  const rows = [];
  const el = h('div', { class: 'generated', id: 'task-form' });
  vars.forEach((v, i) => {
    const value = parseValue(v.value);
    const id = 'var-' + i;
    let input;
    let read;
    if (typeof value === 'boolean') {
      input = h('input', { id, type: 'checkbox', checked: value });
      read = () => input.checked;
    } else if (typeof value === 'number') {
      input = h('input', { id, type: 'number', step: 'any', value: String(value) });
      read = () => (input.value === '' ? null : Number(input.value));
    } else if (typeof value === 'string') {
      input = h('input', { id, type: 'text', value });
      read = () => input.value;
    } else {
      input = h('textarea', { id, rows: 3 }, JSON.stringify(value, null, 1));
      read = () => JSON.parse(input.value);
    }
    rows.push({ name: v.name, read, orig: value });
    el.append(h('div', { class: typeof value === 'boolean' ? 'field check' : 'field' }, h('label', { for: id }, v.name), input));
  });
  if (!vars.length) el.append(h('p', { class: 'muted' }, t('task.noVariables')));
  // Variables to add: name and value (JSON, or text).
  const extra = h('div', { class: 'extra' });
  let n = 0;
  const addRow = () => {
    const i = n++;
    const name = h('input', { id: 'new-name-' + i, type: 'text', autocomplete: 'off' });
    const value = h('input', { id: 'new-value-' + i, type: 'text', autocomplete: 'off' });
    extra.append(h('div', { class: 'field-pair' },
      h('div', { class: 'field' }, h('label', { for: 'new-name-' + i }, t('task.newVarName')), name),
      h('div', { class: 'field' }, h('label', { for: 'new-value-' + i }, t('task.newVarValue')), value)));
    rows.push({ read: () => value.value, nameInput: name, isNew: true });
  };
  addRow();
  el.append(h('fieldset', null, h('legend', null, t('task.addVariables')), extra, button(t('task.addVariable'), addRow)));
  return {
    el,
    collect: () => {
      const out = {};
      try {
        for (const r of rows) {
          if (r.isNew) {
            const nm = r.nameInput.value.trim();
            if (!nm) continue;
            const raw = r.read();
            let val;
            try { val = JSON.parse(raw); } catch { val = raw; }
            out[nm] = val;
          } else {
            const v = r.read();
            if (JSON.stringify(v) !== JSON.stringify(r.orig)) out[r.name] = v;
          }
        }
      } catch {
        return null;
      }
      return out;
    },
  };
}
