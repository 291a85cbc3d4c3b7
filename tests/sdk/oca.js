// The Orchestration Cluster API client (npm @camunda8/orchestration-cluster-api, the dependency of
// @camunda8/sdk 8.8.13) against `crmflow serve`, with strict validation: every request and every
// response is checked against the 8.8 spec's schemas. It has no static-bearer strategy, so the
// token goes in through a custom fetch (shared/camunda-rest.md §3.4). Run by tests/sdk/run.sh.
'use strict'
const path = require('node:path')
const { createCamundaClient } = require('@camunda8/orchestration-cluster-api')
const { assert, env, isKey, sleep, until, steps } = require('./lib')

const token = env('CF_ADMIN_TOKEN')
const camunda = createCamundaClient({
  config: {
    CAMUNDA_REST_ADDRESS: env('CF_ADDRESS'),
    CAMUNDA_AUTH_STRATEGY: 'NONE',
    CAMUNDA_SDK_VALIDATION: 'req:strict,res:strict',
    CAMUNDA_SDK_LOG_LEVEL: 'silent',
  },
  fetch: (input, init) => {
    const r = new Request(input, init)
    r.headers.set('Authorization', `Bearer ${token}`)
    return fetch(r)
  },
})
const bpmn = env('CF_BPMN')
const wait = (ms = 5000) => ({ consistency: { waitUpToMs: ms } })
const once = { consistency: { waitUpToMs: 0 } }

const s = {}
const orders = ['O-1', 'O-2', 'O-3', 'O-4'] // O-3: failed with a back-off first; O-4: to an incident first

const list = [
  ['getTopology / getStatus / getLicense', async () => {
    const t = await camunda.getTopology()
    assert.equal(t.brokers[0].partitions[0].health, 'healthy')
    assert.equal(t.partitionsCount, 1)
    await camunda.getStatus()
    const l = await camunda.getLicense()
    assert.equal(l.validLicense, true)
  }],
  ['deployResourcesFromFiles', async () => {
    const d = await camunda.deployResourcesFromFiles([bpmn])
    isKey(d.deploymentKey, 'deploymentKey')
    assert.equal(d.deployments.length, 2)
    const order = d.processes.find((p) => p.processDefinitionId === 'api_order')
    assert.ok(order, 'no api_order in the deployment')
    isKey(order.processDefinitionKey, 'processDefinitionKey')
    assert.equal(order.resourceName, path.basename(bpmn))
    s.orderKey = order.processDefinitionKey
  }],
  ['createProcessInstance x4 (by id and by key)', async () => {
    s.pi = {}
    for (const orderId of orders) {
      const r = await camunda.createProcessInstance(orderId === 'O-4'
        ? { processDefinitionKey: s.orderKey, variables: { orderId } }
        : { processDefinitionId: 'api_order', variables: { orderId } })
      isKey(r.processInstanceKey, 'processInstanceKey')
      assert.equal(r.processDefinitionId, 'api_order')
      assert.deepEqual(r.variables, {})
      s.pi[orderId] = r.processInstanceKey
    }
    const q = await camunda.createProcessInstance({ processDefinitionId: 'api_quick', variables: { n: 4 }, awaitCompletion: true })
    assert.equal(q.variables.doubled, 8)
  }],
  ['createJobWorker (long polls): complete, fail with back-off, fail to an incident', async () => {
    const attempts = {}
    s.done = new Set()
    s.worker = camunda.createJobWorker({
      jobType: 'api.charge', jobTimeoutMs: 30000, maxParallelJobs: 5, workerName: 'oca-worker',
      jobHandler: async (job) => {
        isKey(job.jobKey, 'jobKey')
        assert.equal(job.customHeaders.provider, 'acme')
        const id = job.variables.orderId
        attempts[id] = (attempts[id] || 0) + 1
        if (id === 'O-3' && attempts[id] === 1) {
          s.backoffFrom = Date.now()
          return job.fail({ errorMessage: 'try later', retries: 1, retryBackOff: 300 })
        }
        if (id === 'O-3') assert.ok(Date.now() - s.backoffFrom >= 250, 'the job came back before its back-off')
        if (id === 'O-4' && attempts[id] === 1) {
          s.failedJob = job.jobKey
          const r = await job.fail({ errorMessage: 'no such card', retries: 0 })
          s.done.add('O-4 failed')
          return r
        }
        const r = await job.complete({ charged: true, chargedBy: 'oca' })
        s.done.add(id)
        return r
      },
    })
    await until('the worker to handle the orders', () => ['O-1', 'O-2', 'O-3', 'O-4 failed'].every((k) => s.done.has(k)), 15000)
    assert.equal(attempts['O-3'], 2)
    s.attempts = attempts
  }],
  ['searchIncidents / modifyRetries / resolveIncident: the worker runs it again', async () => {
    const r = await camunda.searchIncidents({ filter: { processInstanceKey: s.pi['O-4'], state: 'ACTIVE' } }, wait())
    assert.equal(r.items.length, 1)
    const i = r.items[0]
    assert.equal(i.errorType, 'JOB_NO_RETRIES')
    assert.equal(i.errorMessage, 'no such card')
    assert.equal(i.jobKey, s.failedJob)
    const one = await camunda.getIncident({ incidentKey: i.incidentKey }, wait())
    assert.equal(one.incidentKey, i.incidentKey)
    await camunda.updateJob({ jobKey: s.failedJob, changeset: { retries: 1 } })
    await camunda.resolveIncident({ incidentKey: i.incidentKey })
    await until('the worker to complete O-4', () => s.done.has('O-4'), 15000)
    assert.equal(s.attempts['O-4'], 2)
  }],
  ['searchUserTasks (eventual consistency) / assign / complete', async () => {
    for (const orderId of orders) {
      const r = await camunda.searchUserTasks({ filter: { processInstanceKey: s.pi[orderId] } }, wait())
      assert.equal(r.items.length, 1)
      const t = r.items[0]
      isKey(t.userTaskKey, 'userTaskKey')
      assert.equal(t.state, 'CREATED')
      assert.deepEqual(t.candidateGroups, ['sales'])
      await camunda.assignUserTask({ userTaskKey: t.userTaskKey, assignee: 'ann' })
      const got = await camunda.getUserTask({ userTaskKey: t.userTaskKey }, wait())
      assert.equal(got.assignee, 'ann')
      await camunda.completeUserTask({ userTaskKey: t.userTaskKey, variables: { approved: orderId !== 'O-2' } })
    }
  }],
  ['publishMessage / correlateMessage / broadcastSignal', async () => {
    for (const orderId of ['O-1', 'O-2', 'O-3']) {
      const m = await camunda.publishMessage({ name: 'api-paid', correlationKey: orderId, timeToLive: 0, variables: { paidBy: 'oca' } })
      isKey(m.messageKey, 'messageKey')
    }
    const c = await camunda.correlateMessage({ name: 'api-paid', correlationKey: 'O-4' })
    assert.equal(c.processInstanceKey, s.pi['O-4'])
    const sig = await camunda.broadcastSignal({ signalName: 'sdk-nobody-listens' })
    isKey(sig.signalKey, 'signalKey')
  }],
  ['searchProcessInstances / getProcessInstance: all COMPLETED', async () => {
    const keys = Object.values(s.pi)
    const r = await camunda.searchProcessInstances(
      { filter: { processInstanceKey: { $in: keys }, state: 'COMPLETED' } },
      { consistency: { waitUpToMs: 5000, predicate: (x) => x.items.length === keys.length } },
    )
    assert.equal(Number(r.page.totalItems), keys.length) // int64: a BigInt in this client
    for (const pi of r.items) assert.equal(pi.processDefinitionName, 'API order')
    const one = await camunda.getProcessInstance({ processInstanceKey: s.pi['O-2'] }, wait())
    assert.equal(one.state, 'COMPLETED')
    assert.equal(one.hasIncident, false)
    const inc = await camunda.searchIncidents({ filter: { processInstanceKey: s.pi['O-4'], state: 'ACTIVE' } }, once)
    assert.equal(inc.items.length, 0)
  }],
  ['searchVariables / searchElementInstances', async () => {
    const v = await camunda.searchVariables({ filter: { processInstanceKey: s.pi['O-2'], name: 'approved' } }, wait())
    assert.equal(v.items.length, 1)
    assert.equal(v.items[0].value, 'false')
    const e = await camunda.searchElementInstances({ filter: { processInstanceKey: s.pi['O-2'], elementId: 'charge' } }, wait())
    assert.equal(e.items.length, 1)
    assert.equal(e.items[0].type, 'SERVICE_TASK')
    assert.equal(e.items[0].state, 'COMPLETED')
  }],
]

async function main() {
  let ok = false
  try {
    ok = await steps('oca', list)
  } finally {
    // stop() drops the in-flight long poll (see legacy.js on what the server does with it).
    if (s.worker) s.worker.stop()
  }
  await sleep(0)
  process.exit(ok ? 0 : 1)
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
