#!/usr/bin/env node
/*
 * docs/api/openapi.yaml against the server (ctest docs.openapi):
 *   1. the spec is a valid OpenAPI document (SwaggerParser.validate: schema and $refs);
 *   2. every route of the table in src/api/api.c, lines like
 *        {"GET", "/v2/topology", PERM_OPEN, api_h_topology},
 *      is an operation of the spec (a "{}" segment is any "{param}"), and every
 *      operation of the spec is a route: nothing missing, nothing invented;
 *   3. every operation says who may call it, and its security matches the route's
 *      permission (PERM_OPEN: security: []; the others: the global schemes).
 *
 * Usage: node check.js [SOURCE_DIR] (default: $CF_SOURCE_DIR, else ../..). Exit 0 when all hold.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const SwaggerParser = require('@apidevtools/swagger-parser');

const root = path.resolve(process.argv[2] || process.env.CF_SOURCE_DIR || path.join(__dirname, '..', '..'));
const specFile = path.join(root, 'docs', 'api', 'openapi.yaml');
const tableFile = path.join(root, 'src', 'api', 'api.c');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function routesOf(cSource) {
  const re = /\{\s*"([A-Z]+)"\s*,\s*"(\/[^"]*)"\s*,\s*(PERM_[A-Z_]+)\s*,\s*(\w+)\s*\}\s*,/g;
  const out = [];
  let m;
  while ((m = re.exec(cSource))) out.push({ method: m[1].toLowerCase(), path: m[2], perm: m[3], fn: m[4] });
  return out;
}

/* "/v2/jobs/{jobKey}/completion" and "/v2/jobs/{}/completion" both become "/v2/jobs/{}/completion". */
const norm = (p) => p.replace(/\{[^}/]*\}/g, '{}');

async function main() {
  const problems = [];
  const routes = routesOf(fs.readFileSync(tableFile, 'utf8'));
  if (routes.length < 10) problems.push(`only ${routes.length} routes found in ${tableFile}: has the table's format changed?`);

  let api;
  try {
    api = await SwaggerParser.validate(specFile);
  } catch (e) {
    console.error(`FAIL: ${specFile} is not a valid OpenAPI document:\n  ${e.message}`);
    process.exit(1);
  }

  const ops = new Map(); /* "get {}" -> {specPath, op} */
  for (const [p, item] of Object.entries(api.paths || {})) {
    for (const m of METHODS) if (item[m]) ops.set(`${m} ${norm(p)}`, { specPath: p, op: item[m] });
  }
  const seen = new Set();
  for (const r of routes) {
    const id = `${r.method} ${norm(r.path)}`;
    if (seen.has(id)) problems.push(`the route ${r.method.toUpperCase()} ${r.path} is in the table twice`);
    seen.add(id);
    const o = ops.get(id);
    if (!o) {
      problems.push(`the route ${r.method.toUpperCase()} ${r.path} (${r.fn}, ${r.perm}) is not in the spec`);
      continue;
    }
    const desc = o.op.description || '';
    if (!/Roles?:/i.test(desc)) problems.push(`${r.method.toUpperCase()} ${o.specPath}: the description does not say which roles may call it ("Roles: ...")`);
    const open = Array.isArray(o.op.security) && o.op.security.length === 0;
    if (r.perm === 'PERM_OPEN' && !open) problems.push(`${r.method.toUpperCase()} ${o.specPath} needs no credentials (PERM_OPEN) but the spec does not say security: []`);
    if (r.perm !== 'PERM_OPEN' && open) problems.push(`${r.method.toUpperCase()} ${o.specPath} needs credentials (${r.perm}) but the spec says security: []`);
    if (!o.op.responses || !Object.keys(o.op.responses).some((s) => /^2/.test(s)))
      problems.push(`${r.method.toUpperCase()} ${o.specPath} has no success response`);
    if (r.perm !== 'PERM_OPEN') for (const s of ['401', '403'])
      if (!o.op.responses[s]) problems.push(`${r.method.toUpperCase()} ${o.specPath} lacks the ${s} response`);
  }
  for (const [id, o] of ops) {
    if (!seen.has(id)) problems.push(`the spec has ${id.split(' ')[0].toUpperCase()} ${o.specPath}, which is no route of src/api/api.c`);
  }
  if (!Array.isArray(api.security) || !api.security.length) problems.push('the spec applies no security globally');

  if (problems.length) {
    for (const p of problems) console.error(`FAIL: ${p}`);
    console.error(`${problems.length} problem(s): docs/api/openapi.yaml and src/api/api.c disagree.`);
    process.exit(1);
  }
  console.log(`ok: ${specFile} is valid OpenAPI ${api.openapi} and matches the ${routes.length} routes of src/api/api.c`);
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
