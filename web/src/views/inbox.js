// The task inbox: my tasks and my groups' tasks, filtered and sorted on the server, 50 at a time.
import { h, clear } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { search } from '../api.js';
import { session } from '../session.js';
import { navigate, pageTitle, pager, taskStateBadge, isOverdue, errorBox } from '../ui.js';

const LIMIT = 50;
const VIEWS = ['open', 'mine', 'unassigned', 'group', 'overdue', 'completed'];
const SORTS = ['creationDate:DESC', 'creationDate:ASC', 'dueDate:ASC', 'priority:DESC'];

export function buildTaskQuery(view, group, sort, from) {
  const filter = {};
  if (view === 'completed') filter.state = 'COMPLETED';
  else filter.state = 'CREATED';
  if (view === 'mine') filter.assignee = session.user;
  if (view === 'unassigned') filter.assignee = { $exists: false };
  if (view === 'group' && group) filter.candidateGroup = group;
  if (view === 'overdue') filter.dueDate = { $lt: new Date().toISOString() };
  let [field, order] = sort.split(':');
  if (view === 'completed' && field === 'creationDate') field = 'completionDate';
  return { filter, sort: [{ field, order }], page: { from, limit: LIMIT } };
}

export async function renderInbox({ main, query, isCurrent }) {
  const view = VIEWS.includes(query.get('view')) ? query.get('view') : 'open';
  const groups = session.groups || [];
  const group = query.get('group') || groups[0] || '';
  const sort = SORTS.includes(query.get('sort')) ? query.get('sort') : 'creationDate:DESC';
  const from = Math.max(0, parseInt(query.get('from') || '0', 10) || 0);
  const go = (changes) => {
    const q = new URLSearchParams({ view, sort, from: '0', ...(view === 'group' ? { group } : {}), ...changes });
    if (q.get('view') !== 'group') q.delete('group');
    else if (!q.get('group')) q.set('group', group);
    navigate('/tasks?' + q.toString());
  };

  const viewSel = h('select', { id: 'task-view', onchange: (e) => go({ view: e.target.value }) },
    VIEWS.filter((v) => v !== 'group' || groups.length).map((v) => h('option', { value: v, selected: v === view }, t('inbox.view.' + v))));
  const groupSel = view === 'group' && groups.length
    ? h('div', { class: 'field inline' }, h('label', { for: 'task-group' }, t('inbox.group')),
      h('select', { id: 'task-group', onchange: (e) => go({ view: 'group', group: e.target.value }) },
        groups.map((g) => h('option', { value: g, selected: g === group }, g))))
    : null;
  const sortSel = h('select', { id: 'task-sort', onchange: (e) => go({ sort: e.target.value }) },
    SORTS.map((s) => h('option', { value: s, selected: s === sort }, t('inbox.sort.' + s.replace(':', '.')))));

  const listArea = h('div', { class: 'task-list', 'aria-live': 'polite' }, h('p', { class: 'loading' }, t('common.loading')));
  main.append(
    pageTitle(t('inbox.title')),
    h('p', { class: 'muted' }, session.role === 'agent' ? t('inbox.introAgent', { groups: groups.join(', ') || '—' }) : t('inbox.intro')),
    h('form', { class: 'filters', role: 'search', 'aria-label': t('inbox.filters'), onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field inline' }, h('label', { for: 'task-view' }, t('inbox.show')), viewSel),
      groupSel,
      h('div', { class: 'field inline' }, h('label', { for: 'task-sort' }, t('inbox.sortBy')), sortSel)),
    listArea);

  let r;
  try {
    r = await search('/v2/user-tasks/search', buildTaskQuery(view, group, sort, from));
  } catch (e) {
    if (!isCurrent()) return;
    clear(listArea).append(errorBox(e));
    return;
  }
  if (!isCurrent()) return;
  clear(listArea);
  const items = r.items || [];
  if (!items.length) {
    listArea.append(h('p', { class: 'empty' }, t('inbox.empty')));
    return;
  }
  listArea.append(taskTable(items), pager(r.page, from, LIMIT, (f) => go({ from: String(f) })));
}

export function taskTable(items, opts = {}) {
  return h('table', { class: 'tasks responsive', id: opts.id || 'task-table' },
    h('caption', { class: 'sr-only' }, t('inbox.caption')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('task.name')),
      h('th', { scope: 'col' }, t('task.process')),
      h('th', { scope: 'col' }, t('task.state')),
      h('th', { scope: 'col' }, t('task.due')),
      h('th', { scope: 'col' }, t('task.created')),
      h('th', { scope: 'col' }, t('task.assignee')),
      h('th', { scope: 'col' }, t('task.priority')))),
    h('tbody', null, items.map((task) => {
      const overdue = isOverdue(task);
      return h('tr', { class: overdue ? 'overdue' : null, dataset: { key: task.userTaskKey } },
        h('td', { 'data-label': t('task.name') },
          h('a', { href: '#/tasks/' + task.userTaskKey, class: 'task-link' }, task.name || task.elementId || task.userTaskKey)),
        h('td', { 'data-label': t('task.process') }, task.processName || task.processDefinitionId || ''),
        h('td', { 'data-label': t('task.state') }, taskStateBadge(task)),
        h('td', { 'data-label': t('task.due') },
          task.dueDate ? h('span', { class: overdue ? 'due overdue' : 'due' }, fmtDateTime(task.dueDate),
            overdue ? h('span', { class: 'badge overdue-badge' }, t('task.overdue')) : null) : h('span', { class: 'muted' }, t('task.noDue'))),
        h('td', { 'data-label': t('task.created') }, fmtDateTime(task.creationDate)),
        h('td', { 'data-label': t('task.assignee') }, task.assignee || h('span', { class: 'muted' }, (task.candidateGroups || []).join(', ') || t('task.unassigned'))),
        h('td', { 'data-label': t('task.priority') }, task.priority ?? ''));
    })));
}
