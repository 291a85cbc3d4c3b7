// Every key the sources use (t('key') and the prefixes built at run time) is in both translation files,
// and both files have the same keys, none empty. `npm run check-i18n`; run by tests/ui/run.sh.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const en = JSON.parse(readFileSync(join(root, 'i18n/en.json'), 'utf8'));
const zh = JSON.parse(readFileSync(join(root, 'i18n/zh-CN.json'), 'utf8'));
const problems = [];
const files = [];
(function walk(d) {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.js')) files.push(p);
  }
})(root);
const used = new Set();
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  for (const m of src.matchAll(/\bt\('([\w.-]+)'/g)) used.add(m[1]);
}
// Keys built at run time: prefix + every value the code uses.
const dynamic = {
  'taskState.': ['created', 'assigned', 'completed', 'failed'],
  'inbox.view.': ['open', 'mine', 'unassigned', 'group', 'overdue', 'completed'],
  'inbox.sort.': ['creationDate.DESC', 'creationDate.ASC', 'dueDate.ASC', 'priority.DESC'],
  'lang.': ['en', 'zh-CN'],
  'definition.filter.': ['ACTIVE', 'INCIDENT', 'COMPLETED', 'TERMINATED', 'ALL'],
};
for (const [p, vs] of Object.entries(dynamic)) for (const v of vs) used.add(p + v);
for (const k of used) {
  if (k.endsWith('.')) continue;
  if (!(k in en)) problems.push(`en.json lacks ${k}`);
  if (!(k in zh)) problems.push(`zh-CN.json lacks ${k}`);
}
for (const k of Object.keys(en)) if (!(k in zh)) problems.push(`zh-CN.json lacks ${k} (in en.json)`);
for (const k of Object.keys(zh)) if (!(k in en)) problems.push(`en.json lacks ${k} (in zh-CN.json)`);
for (const [name, cat] of [['en', en], ['zh-CN', zh]]) {
  for (const [k, v] of Object.entries(cat)) if (typeof v !== 'string' || !v.trim()) problems.push(`${name}: ${k} is empty`);
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`i18n: ${used.size} keys used, ${Object.keys(en).length} in each language`);
