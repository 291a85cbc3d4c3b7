// The dashboard: instances started and completed per day (an SVG chart), task backlog per group,
// SLA breaches, average cycle time per process. Charts are drawn here: no chart library.
import { h, s } from '../dom.js';
import { t, fmtDay, fmtDateTime, fmtNumber, fmtDuration } from '../i18n.js';
import { get } from '../api.js';
import { pageTitle, navigate } from '../ui.js';

export async function renderDashboard({ main, query, isCurrent }) {
  const days = [7, 14, 30].includes(Number(query.get('days'))) ? Number(query.get('days')) : 14;
  main.append(pageTitle(t('dashboard.title')),
    h('div', { class: 'field inline' }, h('label', { for: 'dash-days' }, t('dashboard.period')),
      h('select', { id: 'dash-days', onchange: (e) => navigate('/dashboard?days=' + e.target.value) },
        [7, 14, 30].map((d) => h('option', { value: d, selected: d === days }, t('dashboard.days', { n: d }))))));
  const d = await get('/v2/crm/dashboard?days=' + days);
  if (!isCurrent()) return;
  main.append(h('div', { class: 'dash-grid' },
    h('section', { class: 'card wide', 'aria-labelledby': 'd-days' }, h('h2', { id: 'd-days' }, t('dashboard.perDay')), dayChart(d.days || [])),
    h('section', { class: 'card', 'aria-labelledby': 'd-backlog' }, h('h2', { id: 'd-backlog' }, t('dashboard.backlog')),
      barList((d.backlog || []).map((b) => ({ label: b.group, value: b.open, text: fmtNumber(b.open) })), 'backlog-chart', t('dashboard.noBacklog'))),
    h('section', { class: 'card', 'aria-labelledby': 'd-sla' }, h('h2', { id: 'd-sla' }, t('dashboard.sla')), sla(d.slaBreaches || {})),
    h('section', { class: 'card', 'aria-labelledby': 'd-cycle' }, h('h2', { id: 'd-cycle' }, t('dashboard.cycleTime')),
      barList((d.cycleTime || []).map((c) => ({ label: c.processDefinitionId, value: c.averageMs, text: t('dashboard.cycleValue', { avg: fmtDuration(c.averageMs), n: fmtNumber(c.completed) }) })), 'cycle-chart', t('dashboard.noCycle')))));
}

function dayChart(days) {
  if (!days.length) return h('p', { class: 'empty' }, t('dashboard.noData'));
  const W = 640;
  const H = 220;
  const pad = { l: 36, r: 8, t: 12, b: 28 };
  const max = Math.max(1, ...days.map((x) => Math.max(x.started || 0, x.completed || 0)));
  const niceMax = niceCeil(max);
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const slot = iw / days.length;
  const bw = Math.max(2, slot * 0.36);
  const y = (v) => pad.t + ih - (v / niceMax) * ih;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', id: 'day-chart', role: 'img', 'aria-labelledby': 'day-chart-title' },
    s('title', { id: 'day-chart-title' }, t('dashboard.perDayAlt', { days: days.length, started: sum(days, 'started'), completed: sum(days, 'completed') })));
  for (let i = 0; i <= 4; i++) {
    const v = (niceMax * i) / 4;
    svg.append(s('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: pad.l - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, fmtNumber(v)));
  }
  const every = Math.ceil(days.length / 10);
  days.forEach((x, i) => {
    const cx = pad.l + slot * i + slot / 2;
    svg.append(
      s('rect', { x: cx - bw, y: y(x.started || 0), width: bw, height: ih + pad.t - y(x.started || 0), class: 'bar started' },
        s('title', null, t('dashboard.startedOn', { day: x.day, n: x.started || 0 }))),
      s('rect', { x: cx, y: y(x.completed || 0), width: bw, height: ih + pad.t - y(x.completed || 0), class: 'bar completed' },
        s('title', null, t('dashboard.completedOn', { day: x.day, n: x.completed || 0 }))));
    if (i % every === 0) svg.append(s('text', { x: cx, y: H - 8, 'text-anchor': 'middle', class: 'axis' }, fmtDay(x.day)));
  });
  return h('figure', null, svg, h('figcaption', { class: 'legend' },
    h('span', { class: 'swatch started' }), ' ', t('dashboard.started'), ' ', h('span', { class: 'swatch completed' }), ' ', t('dashboard.completed')));
}

function barList(rows, id, emptyText) {
  if (!rows.length) return h('p', { class: 'empty' }, emptyText);
  const max = Math.max(1, ...rows.map((r) => r.value || 0));
  return h('ul', { class: 'bars', id }, rows.map((r) => h('li', null,
    h('span', { class: 'bar-label' }, r.label),
    h('span', { class: 'bar-track', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill', style: { width: `${Math.max(1, ((r.value || 0) / max) * 100)}%` } })),
    h('span', { class: 'bar-value' }, r.text))));
}

function sla(b) {
  const items = b.items || [];
  return h('div', { id: 'sla' },
    h('p', { class: 'big-number' + (b.overdueTasks ? ' bad' : '') }, fmtNumber(b.overdueTasks || 0), h('span', null, ' ' + t('dashboard.overdueTasks'))),
    items.length ? h('ul', { class: 'sla-list' }, items.slice(0, 10).map((x) => h('li', null,
      h('a', { href: '#/tasks/' + x.userTaskKey }, x.name || x.userTaskKey), ' ',
      h('span', { class: 'muted' }, t('dashboard.dueWas', { due: fmtDateTime(x.dueDate), who: x.assignee || (x.candidateGroups || []).join(', ') || '—' }))))) : null);
}

const sum = (arr, k) => arr.reduce((a, x) => a + (x[k] || 0), 0);

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return Math.max(4, m * p);
  return v;
}
