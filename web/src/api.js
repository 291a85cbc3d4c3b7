// The HTTP API (docs/api.md): fetch with the session cookie; X-CSRF-Token on every state-changing request.
let csrfToken = null;
let onUnauthorized = () => {};

// The token comes with the session (POST /v2/crm/session) and with GET /v2/crm/me; it is also kept in
// sessionStorage for this tab, in case /v2/crm/me does not send it.
export function setCsrf(token) {
  csrfToken = token || null;
  try {
    if (csrfToken) sessionStorage.setItem('crmflow.csrf', csrfToken);
    else sessionStorage.removeItem('crmflow.csrf');
  } catch { /* storage unavailable */ }
}
export function storedCsrf() {
  try { return sessionStorage.getItem('crmflow.csrf'); } catch { return null; }
}
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401 && !opts.noRedirect) onUnauthorized();
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, problem);
  }
  if (res.status === 204) return null;
  if (opts.text) return res.text();
  const type = res.headers.get('Content-Type') || '';
  if (!type.includes('json')) return res.text();
  return res.json();
}

export const get = (p, o) => api('GET', p, undefined, o);
export const post = (p, b, o) => api('POST', p, b === undefined ? {} : b, o);
export const patch = (p, b, o) => api('PATCH', p, b, o);
export const del = (p, o) => api('DELETE', p, undefined, o);

// Searches: {items, page}
export const search = (path, body) => post(path, body || {});

// A variable's value is its JSON text.
export function parseValue(text) {
  try { return JSON.parse(text); } catch { return text; }
}

export async function variablesOf(processInstanceKey) {
  const r = await search('/v2/variables/search', { filter: { processInstanceKey }, page: { from: 0, limit: 1000 } });
  return r.items || [];
}
