// The web UI in headless Chromium (Debian's, driven by playwright-core): run by run.sh, which starts
// `crmflow serve --ui web/dist` on a demo database. Plain assertions; each step is a check that passes
// or fails; the last line is "N passed, N failed". Screenshots: $CF_SCREENSHOTS (the newest set).
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const BASE = process.env.CF_URL;
const TOKEN = process.env.CF_TOKEN;
const FIX = process.env.CF_FIXTURES;
const SHOTS = process.env.CF_SCREENSHOTS;
const PASSWORD = 'crmflow-demo';
const BULK = Number(process.env.CF_UI_BULK || 10000);
rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });

// The API with the admin token (setup and checks).
async function api(method, path, body, headers = {}) {
  const res = await fetch(BASE + path, {
    method,
    headers: { Authorization: 'Bearer ' + TOKEN, ...(body !== undefined && !(body instanceof FormData) ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
async function deploy(file) {
  const fd = new FormData();
  fd.append('resources', new Blob([readFileSync(join(FIX, file))], { type: 'text/xml' }), file);
  return api('POST', '/v2/deployments', fd);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(100);
  }
}

let passed = 0;
let failed = 0;
let shotN = 0;
async function shot(page, name) {
  const f = join(SHOTS, `${String(++shotN).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: f, fullPage: true });
}
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CF_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const pageErrors = [];
async function newPage(opts = {}) {
  const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 }, ...opts });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return page;
}
async function signIn(page, user) {
  await page.goto(BASE + '/');
  await page.waitForSelector('#username');
  await page.fill('#username', user);
  await page.fill('#password', PASSWORD);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('#task-table, .task-list .empty, .task-list .error');
}
const hashOf = (page) => page.evaluate(() => location.hash);

try {
  const ann = await newPage();

  await step('the sign-in page, a wrong password refused', async () => {
    await ann.goto(BASE + '/');
    await ann.waitForSelector('#username');
    await shot(ann, 'signin');
    await ann.fill('#username', 'ann');
    await ann.fill('#password', 'wrong-password');
    await ann.click('form.signin button[type=submit]');
    await ann.waitForSelector('#signin-error:not([hidden])');
    assert.match(await ann.textContent('#signin-error'), /Wrong user name or password/);
  });

  await step('ann signs in: the session cookie is HttpOnly and SameSite=Strict; her inbox lists her tasks', async () => {
    await signIn(ann, 'ann');
    const cookies = await ann.context().cookies();
    const c = cookies.find((x) => x.name === 'crmflow_session');
    assert.ok(c, 'a crmflow_session cookie');
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(await ann.evaluate(() => document.cookie.includes('crmflow_session')), false);
    const rows = await ann.$$('#task-table tbody tr');
    assert.ok(rows.length > 0, 'tasks in the inbox');
    const names = await ann.$$eval('#task-table .task-link', (as) => as.map((a) => a.textContent));
    assert.ok(names.includes('Approve order'), 'an approval task: ' + names.join(', '));
    await shot(ann, 'inbox');
  });

  await step('a state-changing request without the CSRF token is refused (403)', async () => {
    const status = await ann.evaluate(async () => (await fetch('/v2/user-tasks/search', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status);
    assert.equal(status, 403);
  });

  await step('keyboard: Tab reaches the task list and Enter opens a task', async () => {
    // From the top of a freshly loaded page.
    await ann.goto(BASE + '/#/tasks?view=open');
    await ann.reload();
    await ann.waitForSelector('#task-table');
    let onTask = false;
    for (let i = 0; i < 40 && !onTask; i++) {
      await ann.keyboard.press('Tab');
      onTask = await ann.evaluate(() => document.activeElement && document.activeElement.classList.contains('task-link'));
    }
    assert.ok(onTask, 'a task link got the focus');
    await ann.keyboard.press('Enter');
    await ann.waitForFunction(() => /^#\/tasks\/\d+/.test(location.hash));
    await ann.waitForSelector('#form-h, main .error');
    const key = (await hashOf(ann)).match(/tasks\/(\d+)/)[1];
    assert.ok(await ann.$('#form-h'), `task ${key}, listed by ann's task search, did not open: ` +
      `${await ann.textContent('main')} (GET /v2/user-tasks/${key} as ann: the search and the GET disagree on her tasks)`);
  });

  let approvalTask;
  let approvalInstance;
  await step('an order approval from the inbox: its form renders, is filled and completes the task', async () => {
    await ann.goto(BASE + '/#/tasks');
    await ann.waitForSelector('#task-view');
    await ann.selectOption('#task-view', 'group');
    await ann.waitForSelector('#task-group');
    await ann.selectOption('#task-group', 'order-approvers');
    await ann.waitForFunction(() => location.hash.includes('group=order-approvers') && document.querySelector('#task-table'));
    const link = ann.locator('#task-table .task-link', { hasText: 'Approve order' }).first();
    await link.click();
    await ann.waitForSelector('#task-form');
    approvalTask = (await hashOf(ann)).match(/tasks\/(\d+)/)[1];
    const task = await api('GET', '/v2/user-tasks/' + approvalTask);
    approvalInstance = task.processInstanceKey;
    await shot(ann, 'approval-form');
    if (await ann.$('#task-form .fjs-form')) {
      // The model's form (form-js): tick the approval.
      await ann.getByLabel(/approve/i).first().check();
    } else {
      // No form in the model: the generated form; the approval is a new variable.
      await ann.fill('#new-name-0', 'approved');
      await ann.fill('#new-value-0', 'true');
    }
    await ann.click('#complete');
    await ann.waitForFunction(() => location.hash.startsWith('#/tasks') && !/tasks\/\d/.test(location.hash));
    const after = await api('GET', '/v2/user-tasks/' + approvalTask);
    assert.equal(after.state, 'COMPLETED');
  });

  await step('a model\'s embedded Camunda form rendered with form-js: required field checked, values sent', async () => {
    await deploy('ui_form.bpmn');
    const inst = await api('POST', '/v2/process-instances', { processDefinitionId: 'ui_form', variables: { requester: 'Ann' } });
    const task = await until('the review task', async () => (await api('POST', '/v2/user-tasks/search', { filter: { processInstanceKey: inst.processInstanceKey, state: 'CREATED' } })).items[0]);
    await ann.goto(BASE + '/#/tasks/' + task.userTaskKey);
    await ann.waitForSelector('#task-form .fjs-form');
    await ann.click('#complete');
    await ann.waitForSelector('#complete-error:not([hidden])');
    await ann.getByLabel('Comment').fill('fine by me');
    await ann.keyboard.press('Tab'); // leaves the field: form-js validates it again (its error goes, the layout moves)
    await ann.getByLabel('Looks good').check();
    await shot(ann, 'form-js');
    await ann.click('#complete');
    await ann.waitForFunction(() => !/tasks\/\d/.test(location.hash));
    const vars = await api('POST', '/v2/variables/search', { filter: { processInstanceKey: inst.processInstanceKey } });
    const v = Object.fromEntries(vars.items.map((x) => [x.name, JSON.parse(x.value)]));
    assert.equal(v.comment, 'fine by me');
    assert.equal(v.ok, true);
  });

  const admin = await newPage();
  await step('admin: the approved order\'s diagram moved on (approval completed, the next element active, flows taken)', async () => {
    await signIn(admin, 'admin');
    await admin.goto(BASE + '/#/instances/' + approvalInstance);
    await admin.waitForSelector('#diagram [data-element-id="approve_order"].cf-completed');
    const active = await admin.$$eval('#diagram .djs-element.cf-active', (els) => els.map((e) => e.getAttribute('data-element-id')));
    assert.ok(active.length > 0 && !active.includes('approve_order'), 'active elements: ' + active);
    assert.ok(await admin.$('#diagram [data-element-id="flow_to_approved_check"].cf-taken'), 'the flow out of the approval is marked taken');
    assert.ok(await admin.$('#timeline li'), 'a history timeline');
    await shot(admin, 'instance-moved-on');
  });

  await step('admin: an incident is retried from the instance page and is gone', async () => {
    // The approved order waits at handle_order (job order.handle, no worker here): fail it with no retries.
    const jobs = await api('POST', '/v2/jobs/activation', { type: 'order.handle', worker: 'ui-test', timeout: 60000, maxJobsToActivate: 50, requestTimeout: 2000 });
    const job = jobs.jobs.find((j) => j.processInstanceKey === approvalInstance);
    assert.ok(job, 'the approved order\'s job');
    for (const j of jobs.jobs) {
      if (j !== job) await api('POST', `/v2/jobs/${j.jobKey}/failure`, { retries: j.retries, errorMessage: 'released', retryBackOff: 0 });
    }
    await api('POST', `/v2/jobs/${job.jobKey}/failure`, { retries: 0, errorMessage: 'warehouse system unreachable' });
    await admin.goto(BASE + '/#/instances/' + approvalInstance + '?x=1');
    await admin.waitForSelector('#incidents .incident-item');
    assert.match(await admin.textContent('#incidents'), /warehouse system unreachable/);
    await admin.waitForSelector('#diagram .djs-element.cf-incident');
    await shot(admin, 'incident');
    await admin.click('#incidents button.retry');
    await admin.waitForSelector('#no-incidents');
    const left = await api('POST', '/v2/incidents/search', { filter: { processInstanceKey: approvalInstance } });
    assert.equal(left.items.length, 0);
  });

  await step('admin: a definition\'s diagram with active instances per element', async () => {
    await admin.goto(BASE + '/#/processes');
    await admin.waitForSelector('#process-table');
    await admin.locator('#process-table a', { hasText: 'Order processing' }).first().click();
    await admin.waitForSelector('#diagram .djs-element');
    await admin.waitForSelector('#diagram .cf-badge.active, #diagram ~ .muted:not([hidden])');
    assert.ok(await admin.$('#diagram .cf-badge.active'), 'an active-instances badge (statistics)');
    await admin.waitForSelector('#instance-table');
    await shot(admin, 'definition');
  });

  await step('ann edits a lead\'s source: a bad e-mail is named next to its field; the change is in its history', async () => {
    await ann.goto(BASE + '/#/records/lead');
    await ann.waitForSelector('#record-table');
    await ann.click('#record-table tbody tr:first-child a');
    await ann.waitForSelector('#f-source');
    const email = await ann.inputValue('#f-email');
    await ann.fill('#f-email', 'not-an-address');
    await ann.click('#save-record');
    await ann.waitForSelector('#f-email-error:not([hidden])');
    assert.equal(await ann.getAttribute('#f-email', 'aria-invalid'), 'true');
    await shot(ann, 'record-field-error');
    await ann.fill('#f-email', email);
    const source = 'ui-test-' + Date.now();
    await ann.fill('#f-source', source);
    await ann.click('#save-record');
    await ann.waitForFunction((s) => document.querySelector('#record-history') && document.querySelector('#record-history').textContent.includes(s), source);
    assert.equal(await ann.inputValue('#f-source'), source);
    await shot(ann, 'record-edited');
  });

  await step('admin: the dashboard renders its charts', async () => {
    await admin.goto(BASE + '/#/dashboard');
    await admin.waitForSelector('#day-chart rect.bar', { state: 'attached' });
    await admin.waitForSelector('#backlog-chart li');
    await admin.waitForSelector('#sla .big-number');
    assert.ok((await admin.$$('#day-chart rect.bar')).length >= 14, 'bars for 14 days');
    await shot(admin, 'dashboard');
  });

  await step('Chinese: switched in the header, task states in Chinese (待执行); chosen from the browser\'s language', async () => {
    await ann.goto(BASE + '/#/tasks');
    await ann.waitForSelector('#task-table');
    await ann.selectOption('#lang', 'zh-CN');
    await ann.waitForFunction(() => document.documentElement.lang === 'zh-CN' && document.querySelector('#task-table'));
    const text = await ann.textContent('#task-table');
    assert.ok(text.includes('待执行'), 'a task in state 待执行');
    assert.ok((await ann.textContent('h1')).includes('任务收件箱'));
    await shot(ann, 'inbox-zh');
    await ann.selectOption('#lang', 'en');
    const zhPage = await newPage({ locale: 'zh-CN' });
    await zhPage.goto(BASE + '/');
    await zhPage.waitForSelector('#username');
    assert.equal(await zhPage.evaluate(() => document.documentElement.lang), 'zh-CN');
    assert.ok((await zhPage.textContent('h1')).includes('登录'));
    await zhPage.context().close();
  });

  await step('a phone\'s width (375 px): no horizontal scroll on the inbox, a task, the dashboard', async () => {
    const phone = await newPage({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    await signIn(phone, 'ann');
    const noScroll = () => phone.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
    assert.ok(await noScroll(), 'inbox: no horizontal scroll');
    await shot(phone, 'phone-inbox');
    await phone.goto(BASE + '/#/tasks?view=unassigned');
    await phone.waitForSelector('#task-table');
    assert.ok(await noScroll(), 'inbox (unassigned): no horizontal scroll');
    await phone.click('#task-table .task-link');
    await phone.waitForSelector('#form-h');
    assert.ok(await noScroll(), 'task: no horizontal scroll');
    await phone.context().close();
    const phoneAdmin = await newPage({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    await signIn(phoneAdmin, 'admin');
    await phoneAdmin.goto(BASE + '/#/dashboard');
    await phoneAdmin.waitForSelector('#day-chart');
    assert.ok(await phoneAdmin.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), 'dashboard: no horizontal scroll');
    await shot(phoneAdmin, 'phone-dashboard');
    await phoneAdmin.context().close();
  });

  await step(`the inbox shows within a second with ${BULK} open tasks`, async () => {
    await api('POST', '/v2/crm/groups', { name: 'bulk' });
    await api('POST', '/v2/crm/users', { name: 'bulkagent', role: 'agent', groups: ['bulk'], password: PASSWORD });
    await deploy('ui_bulk.bpmn');
    const t0 = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < BULK) {
        next++;
        await api('POST', '/v2/process-instances', { processDefinitionId: 'ui_bulk' });
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    console.log(`     ${BULK} instances started in ${Date.now() - t0} ms`);
    const count = await api('POST', '/v2/user-tasks/search', { filter: { state: 'CREATED', processDefinitionId: 'ui_bulk' }, page: { limit: 1 } });
    assert.ok(count.page.totalItems >= BULK, 'open tasks: ' + count.page.totalItems);
    const bulk = await newPage();
    await signIn(bulk, 'bulkagent');
    // Timed: a fresh load of the inbox until its rows are shown.
    const times = [];
    for (let i = 0; i < 3; i++) {
      const s = Date.now();
      await bulk.goto(BASE + '/#/tasks?view=open&sort=creationDate:DESC&i=' + i);
      await bulk.reload();
      await bulk.waitForSelector('#task-table tbody tr');
      times.push(Date.now() - s);
    }
    const rows = await bulk.$$('#task-table tbody tr');
    assert.equal(rows.length, 50, 'a page of 50');
    const total = Number(((await bulk.textContent('.pager')).match(/of ([\d,]+)/) || [])[1]?.replace(/,/g, ''));
    assert.ok(total >= BULK, 'the pager counts every task: ' + total);
    console.log(`     inbox shown in ${times.join(', ')} ms`);
    assert.ok(Math.min(...times) < 1000, `the inbox took ${times.join(', ')} ms`);
    await shot(bulk, 'inbox-bulk');
    await bulk.context().close();
  });

  await step('no script errors in the pages', async () => {
    assert.deepEqual(pageErrors, []);
  });
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
