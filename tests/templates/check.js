// ctest docs.element_templates: every examples/element-templates/*.json is a valid Camunda 8
// element template (the pinned @camunda/zeebe-element-templates-json-schema), binds the job type
// its file is named after as a hidden zeebe:taskDefinition type, and has a unique id.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const schema = require('@camunda/zeebe-element-templates-json-schema/resources/schema.json');

const src = process.argv[2] || process.env.CF_SOURCE_DIR || path.resolve(__dirname, '../..');
const dir = path.join(src, 'examples', 'element-templates');
const want = ['crm.create-record', 'crm.update-record', 'crm.get-record', 'crm.assign', 'email.send', 'http.request'];

// The schema carries ajv-errors' errorMessage keywords: known to Ajv, not checked.
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

let failed = 0;
const fail = (file, msg) => { console.error(`${file}: ${msg}`); failed++; };
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const ids = new Map();
for (const f of files) {
  let t;
  try {
    t = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  } catch (e) {
    fail(f, `not JSON: ${e.message}`);
    continue;
  }
  if (!validate(t)) {
    for (const e of validate.errors) fail(f, `${e.instancePath || '/'} ${e.message}`);
  }
  if (t.$schema !== 'https://unpkg.com/@camunda/zeebe-element-templates-json-schema/resources/schema.json')
    fail(f, '$schema is not the Camunda 8 element templates schema');
  if (ids.has(t.id)) fail(f, `id ${t.id} is also the id of ${ids.get(t.id)}`);
  ids.set(t.id, f);
  const type = f.replace(/\.json$/, '');
  const def = (t.properties || []).find((p) => p.binding && p.binding.type === 'zeebe:taskDefinition' &&
                                               (p.binding.property === 'type' || p.binding.property === undefined));
  if (!def || def.type !== 'Hidden' || def.value !== type)
    fail(f, `no hidden zeebe:taskDefinition type binding with the value ${type}`);
  if (!t.elementType || t.elementType.value !== 'bpmn:ServiceTask') fail(f, 'elementType is not bpmn:ServiceTask');
}
for (const w of want) if (!files.includes(`${w}.json`)) fail(`${w}.json`, 'missing');
if (failed) {
  console.error(`docs.element_templates: ${failed} problem(s)`);
  process.exit(1);
}
console.log(`docs.element_templates: ${files.length} templates valid`);
