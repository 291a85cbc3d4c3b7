// crmflow's web UI: a shell (header, navigation, language), a hash router, the session.
import './style.css';
import { h, clear } from './dom.js';
import { t, pickLanguage, setLanguage, language, languages } from './i18n.js';
import { get, del, setCsrf, storedCsrf, setUnauthorizedHandler } from './api.js';
import { navigate, errorText, currentQuery } from './ui.js';
import { session, setSession } from './session.js';
import { renderSignIn } from './views/signin.js';
import { renderInbox } from './views/inbox.js';
import { renderTask } from './views/task.js';

setLanguage(pickLanguage());

// Routes: [pattern, loader]. The views that need bpmn-js or form-js are separate chunks, loaded on demand,
// so the inbox only loads what it needs.
const routes = [
  [/^\/signin$/, () => renderSignIn, true],
  [/^\/(tasks)?$/, () => renderInbox],
  [/^\/tasks\/(\d+)$/, () => renderTask],
  [/^\/processes$/, () => import('./views/processes.js').then((m) => m.renderProcesses)],
  [/^\/processes\/(\d+)$/, () => import('./views/definition.js').then((m) => m.renderDefinition)],
  [/^\/instances\/(\d+)$/, () => import('./views/instance.js').then((m) => m.renderInstance)],
  [/^\/records(?:\/([\w-]+))?$/, () => import('./views/records.js').then((m) => m.renderRecords)],
  [/^\/records\/([\w-]+)\/(\d+)$/, () => import('./views/record.js').then((m) => m.renderRecord)],
  [/^\/dashboard$/, () => import('./views/dashboard.js').then((m) => m.renderDashboard)],
];

const app = document.getElementById('app');
let main;
let navEl;
let userEl;
let routeToken = 0;



function shell() {
  clear(app);
  const langSelect = h('select', {
    id: 'lang', 'aria-label': t('lang.choose'),
    onchange: (e) => { setLanguage(e.target.value, true); shell(); route(); },
  }, languages.map((l) => h('option', { value: l, selected: l === language() }, t('lang.' + l))));
  navEl = h('nav', { 'aria-label': t('nav.label'), class: 'nav' });
  userEl = h('div', { class: 'user' });
  main = h('main', { id: 'main', tabindex: '-1' });
  app.append(
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, t('nav.skip')),
    h('header', { class: 'top' },
      h('a', { class: 'brand', href: '#/tasks' }, t('app.name')),
      navEl,
      h('div', { class: 'top-right' }, userEl, h('label', { class: 'lang' }, h('span', { class: 'sr-only' }, t('lang.choose')), langSelect))),
    main,
    h('div', { id: 'toast', role: 'status', 'aria-live': 'polite', class: 'toast' }));
  renderNav();
}

function renderNav() {
  clear(navEl);
  clear(userEl);
  if (!session.user) return;
  const path = (location.hash.slice(1) || '/').split('?')[0];
  const items = [['/tasks', 'nav.tasks'], ['/processes', 'nav.processes'], ['/records', 'nav.records'], ['/dashboard', 'nav.dashboard']];
  navEl.append(h('ul', null, items.map(([p, k]) => {
    const active = path === p || path.startsWith(p + '/') || (p === '/tasks' && path === '/');
    return h('li', null, h('a', { href: '#' + p, 'aria-current': active ? 'page' : null }, t(k)));
  })));
  userEl.append(
    h('span', { class: 'who', title: t('user.role', { role: session.role || '' }) }, session.name || session.user),
    h('button', { type: 'button', class: 'link', onclick: signOut }, t('user.signOut')));
}

async function signOut() {
  try { await del('/v2/crm/session', { noRedirect: true }); } catch { /* already gone */ }
  setSession(null);
  setCsrf(null);
  navigate('/signin');
}



async function loadSession() {
  try {
    const me = await get('/v2/crm/me', { noRedirect: true });
    setSession(me);
    setCsrf(me.csrfToken || storedCsrf());
    return true;
  } catch {
    setSession(null);
    return false;
  }
}

async function route() {
  const token = ++routeToken;
  const hash = location.hash.slice(1) || '/';
  const path = hash.split('?')[0];
  let found = null;
  for (const [re, loader, open] of routes) {
    const m = path.match(re);
    if (m) { found = { loader, open, args: m.slice(1) }; break; }
  }
  if (!found) found = { loader: () => renderInbox, args: [] };
  if (!found.open && !session.user) {
    navigate('/signin?next=' + encodeURIComponent(path));
    return;
  }
  renderNav();
  clear(main);
  main.setAttribute('aria-busy', 'true');
  main.append(h('p', { class: 'loading' }, t('common.loading')));
  try {
    const view = await found.loader();
    if (token !== routeToken) return;
    const ctx = { main, args: found.args, query: currentQuery(), isCurrent: () => token === routeToken };
    clear(main);
    await view(ctx, ...found.args);
  } catch (e) {
    if (token !== routeToken) return;
    clear(main);
    main.append(h('p', { class: 'error', role: 'alert' }, errorText(e)));
  } finally {
    if (token === routeToken) main.removeAttribute('aria-busy');
  }
}

setUnauthorizedHandler(() => {
  if (!session.user) return;
  setSession(null);
  navigate('/signin');
});

window.addEventListener('hashchange', route);

(async () => {
  shell();
  await loadSession();
  renderNav();
  route();
})();

