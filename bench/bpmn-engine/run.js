// The peer benchmark: the bpmn-engine npm package on the models crmflow bench runs.
//
//   node run.js [--instances N] [--vars JSON] [--warmup W] MODEL.bpmn...
//
// Prints one JSON line per model, in the shape of `crmflow bench`
// (shared/contracts.md §8) with "engine": "bpmn-engine". Exit 1 if an instance
// did not complete.
//
// Its fastest documented usage, as shared/models/README.md asks:
// - The XML is parsed once per model (bpmn-moddle) and serialized once
//   (moddle-context-serializer); every instance is a new Engine given that
//   `sourceContext`, so no instance pays for XML parsing.
// - Service tasks complete synchronously: an `extensions` function binds a
//   handler to each task's job type (zeebe:taskDefinition type, which
//   bpmn-engine itself ignores) by setting activity.behaviour.Service; the
//   handler calls back at once with no output. A task whose job type has no
//   handler is not bound, fails, and counts as stuck.
// - User tasks are signalled, with no output, from the listener's
//   `activity.wait` event, at once.
// - Conditions use bpmn-engine's own syntax, in the copies under models/;
//   `gt` is the service their ${...} expressions call.
// - Logging is off (a Logger whose functions do nothing), so debug-module
//   checks cost nothing.
// Instances run one at a time, as in crmflow bench; W untimed instances
// (default: a tenth of N, at most 500) warm the JIT first.
//
// "jobs" and "user_tasks" count the handler calls and the signals: the same
// figures crmflow bench prints for the same model and variables, a check
// that both engines did the same work.

import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

import BpmnModdle from 'bpmn-moddle';
import * as elements from 'bpmn-elements';
import { Engine } from 'bpmn-engine';
import Serializer, { TypeResolver } from 'moddle-context-serializer';

// The package's exports hide its package.json from require(): read the installed file.
const engineVersion = JSON.parse(fs.readFileSync(new URL('./node_modules/bpmn-engine/package.json', import.meta.url), 'utf8')).version;

function usage(message) {
  if (message) process.stderr.write(`run.js: ${message}\n`);
  process.stderr.write('usage: node run.js [--instances N] [--vars JSON] [--warmup W] MODEL.bpmn...\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { instances: 10000, vars: {}, warmup: undefined, models: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--instances' || a === '--warmup') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < (a === '--warmup' ? 0 : 1)) usage(`${a} wants a whole number`);
      opts[a.slice(2)] = n;
    } else if (a === '--vars') {
      try {
        opts.vars = JSON.parse(value());
      } catch (err) {
        usage(`--vars: ${err.message}`);
      }
      if (opts.vars === null || typeof opts.vars !== 'object' || Array.isArray(opts.vars)) usage('--vars must be a JSON object');
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else {
      opts.models.push(a);
    }
  }
  if (!opts.models.length) usage('no model given');
  if (opts.warmup === undefined) opts.warmup = Math.min(500, Math.ceil(opts.instances / 10));
  return opts;
}

// ------------------------------------------------------------------ model

async function loadSourceContext(file) {
  const moddleContext = await new BpmnModdle().fromXML(fs.readFileSync(file, 'utf8'));
  for (const w of moddleContext.warnings || []) process.stderr.write(`run.js: ${file}: ${w.message}\n`);
  return Serializer(moddleContext, TypeResolver(elements));
}

// The zeebe:taskDefinition type of an activity, or undefined.
function jobTypeOf(activity) {
  const values = activity.behaviour?.extensionElements?.values;
  if (!values) return undefined;
  for (const v of values) if (v.$type === 'zeebe:taskDefinition') return v.type;
  return undefined;
}

const silent = () => ({ debug() {}, error() {}, warn() {} });

// One benchmark run of a model: the counters its handlers update.
function makeRun(sourceContext, vars) {
  const counts = { jobs: 0, userTasks: 0 };

  // A synchronous job worker per job type: it completes the job at once, no variables.
  const handlers = new Map();
  const handlerFor = (type) => {
    if (!handlers.has(type)) {
      handlers.set(type, function JobService() {
        this.type = type;
        this.execute = (_executeMessage, callback) => {
          counts.jobs++;
          callback(null);
        };
      });
    }
    return handlers.get(type);
  };

  const extensions = {
    zeebeJobTypes(activity) {
      const type = jobTypeOf(activity);
      if (type) activity.behaviour.Service = handlerFor(type);
    },
  };
  const services = { gt: (a, b) => a > b };

  const listener = new EventEmitter();
  listener.on('activity.wait', (api) => {
    if (api.type === 'bpmn:UserTask') counts.userTasks++;
    api.signal();
  });

  // Runs one instance to its end; resolves true when it completed.
  function runInstance() {
    return new Promise((resolve) => {
      const engine = new Engine({ name: 'bench', sourceContext, extensions, services, Logger: silent });
      let settled = false;
      const settle = (ok) => {
        if (!settled) {
          settled = true;
          resolve(ok);
        }
      };
      engine.execute({ listener, variables: { ...vars } }, (err) => settle(!err));
      // Everything here completes synchronously once the definitions are
      // loaded (a few promise jobs): an instance not done by the next turn of
      // the event loop waits for something nobody will give. (Chaining on the
      // promise execute() returns instead keeps every engine alive here:
      // about 1 MB per instance of order.bpmn, and a slower peer.)
      setImmediate(() => settle(false));
    });
  }
  return { counts, runInstance };
}

async function benchModel(file, opts) {
  const sourceContext = await loadSourceContext(file);
  const warm = makeRun(sourceContext, opts.vars);
  for (let i = 0; i < opts.warmup; i++) await warm.runInstance();

  const run = makeRun(sourceContext, opts.vars);
  let stuck = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < opts.instances; i++) {
    if (!(await run.runInstance())) stuck++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const completed = opts.instances - stuck;
  const line = {
    engine: 'bpmn-engine',
    engine_version: engineVersion,
    node: process.version,
    model: file,
    store: 'memory',
    mode: 'sequential',
    instances: opts.instances,
    seconds: Number(seconds.toFixed(6)),
    instances_per_second: Number((completed / seconds).toFixed(1)),
    peak_rss_kb: process.resourceUsage().maxRSS,
    completed,
    stuck,
    jobs: run.counts.jobs,
    user_tasks: run.counts.userTasks,
    warmup: opts.warmup,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
  return stuck === 0;
}

const opts = parseArgs(process.argv.slice(2));
let ok = true;
for (const model of opts.models) {
  if (!(await benchModel(path.normalize(model), opts))) ok = false;
}
process.exit(ok ? 0 : 1);
