// Helpers shared by the views: navigation, messages, errors, common widgets.
import { h } from './dom.js';
import { t, tOr } from './i18n.js';
import { ApiError } from './api.js';

export function currentQuery() {
  const hash = location.hash.slice(1) || '/';
  const i = hash.indexOf('?');
  return new URLSearchParams(i >= 0 ? hash.slice(i + 1) : '');
}

export function navigate(path) {
  if (location.hash !== '#' + path) location.hash = path;
  else window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function toast(message, kind) {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = message;
  el.className = 'toast show ' + (kind || '');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = 'toast'; }, 5000);
}

export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 403) return t('error.forbidden');
    if (e.status === 404) return t('error.notFound');
    return t('error.api', { status: e.status, detail: e.message });
  }
  return t('error.network', { detail: String(e && e.message ? e.message : e) });
}

export function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, errorText(e));
}

// A user task's state for people: created (unassigned), assigned, completed, failed.
export function taskStatus(task) {
  if (task.state === 'COMPLETED') return 'completed';
  if (task.state === 'FAILED' || task.state === 'CANCELED') return 'failed';
  return task.assignee ? 'assigned' : 'created';
}

export function taskStateBadge(task) {
  const st = taskStatus(task);
  return h('span', { class: 'badge state-' + st }, t('taskState.' + st));
}

export function isOverdue(task) {
  return task.state !== 'COMPLETED' && task.dueDate && new Date(task.dueDate) < new Date();
}

export function instanceStateBadge(state) {
  return h('span', { class: 'badge inst-' + String(state || '').toLowerCase() }, tOr('instanceState.' + state, state));
}

export function pageTitle(text) {
  document.title = t('app.title', { page: text });
  return h('h1', null, text);
}

export function button(label, onclick, props) {
  return h('button', { type: 'button', onclick, ...(props || {}) }, label);
}

// Runs an action with its button disabled while it runs.
export async function busy(btn, fn) {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try { return await fn(); } finally { btn.disabled = false; btn.removeAttribute('aria-busy'); }
}

export function pager(page, from, limit, go) {
  const total = page ? page.totalItems : 0;
  const end = Math.min(from + limit, total);
  return h('div', { class: 'pager' },
    h('span', { 'aria-live': 'polite' }, total ? t('pager.range', { from: from + 1, to: end, total }) : t('pager.none')),
    button(t('pager.prev'), () => go(Math.max(0, from - limit)), { disabled: from === 0 }),
    button(t('pager.next'), () => go(from + limit), { disabled: end >= total }));
}
