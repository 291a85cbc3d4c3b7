// The legacy CamundaRestClient of npm @camunda8/sdk 8.8.13 against `crmflow serve`, with a static
// admin bearer token (shared/camunda-rest.md §3.1, §3.3). Run by tests/sdk/run.sh.
'use strict'
const path = require('node:path')
const { Camunda8 } = require('@camunda8/sdk')
const { assert, env, isKey, sleep, until, steps } = require('./lib')

const c8 = new Camunda8({
  ZEEBE_REST_ADDRESS: env('CF_ADDRESS'),
  CAMUNDA_AUTH_STRATEGY: 'BEARER',
  CAMUNDA_OAUTH_TOKEN: env('CF_ADMIN_TOKEN'),
  CAMUNDA_LOG_LEVEL: 'none',
})
const camunda = c8.getCamundaRestClient()
const bpmn = env('CF_BPMN')

const s = {} // what the steps share
const orders = ['L-1', 'L-2', 'L-3', 'L-4'] // L-3: the handler throws once; L-4: failed to an incident

const list = [
  ['getTopology', async () => {
    const t = await camunda.getTopology()
    assert.equal(t.brokers.length, 1)
    assert.equal(t.brokers[0].partitions[0].role, 'leader')
    assert.equal(t.clusterSize, 1)
    assert.match(t.gatewayVersion, /^8\.8/)
  }],
  ['getLicenseStatus (sent without a token)', async () => {
    const l = await camunda.getLicenseStatus()
    assert.equal(l.validLicense, true)
    assert.equal(typeof l.licenseType, 'string')
  }],
  ['deployResourcesFromFiles', async () => {
    const d = await camunda.deployResourcesFromFiles([bpmn])
    isKey(d.deploymentKey, 'deploymentKey')
    assert.equal(d.tenantId, '<default>')
    const ids = d.processes.map((p) => p.processDefinitionId).sort()
    assert.deepEqual(ids, ['api_order', 'api_quick'])
    for (const p of d.processes) {
      isKey(p.processDefinitionKey, 'processDefinitionKey')
      assert.equal(p.resourceName, path.basename(bpmn))
      assert.equal(p.processDefinitionVersion, 1)
    }
    s.order = d.processes.find((p) => p.processDefinitionId === 'api_order')
    // Deploying it again changes nothing: the same version and key.
    const again = await camunda.deployResourcesFromFiles([bpmn])
    const o2 = again.processes.find((p) => p.processDefinitionId === 'api_order')
    assert.equal(o2.processDefinitionKey, s.order.processDefinitionKey)
    assert.equal(o2.processDefinitionVersion, 1)
  }],
  ['getProcessDefinition', async () => {
    const d = await camunda.getProcessDefinition(s.order.processDefinitionKey)
    assert.equal(d.processDefinitionId, 'api_order')
    assert.equal(d.processDefinitionKey, s.order.processDefinitionKey)
    assert.equal(d.name, 'API order')
    assert.equal(d.version, 1)
    assert.equal(d.resourceName, path.basename(bpmn))
  }],
  ['createProcessInstanceWithResult (api_quick: n=21 -> doubled 42)', async () => {
    const r = await camunda.createProcessInstanceWithResult({ processDefinitionId: 'api_quick', variables: { n: 21 } })
    isKey(r.processInstanceKey, 'processInstanceKey')
    isKey(r.processDefinitionKey, 'processDefinitionKey')
    assert.equal(r.processDefinitionId, 'api_quick')
    assert.equal(Number(r.variables.doubled), 42)
    assert.equal(Number(r.variables.n), 21)
  }],
  ['createProcessInstance x5 (by id and by key)', async () => {
    s.pi = {}
    for (const orderId of orders) {
      const r = await camunda.createProcessInstance({ processDefinitionId: 'api_order', variables: { orderId } })
      isKey(r.processInstanceKey, 'processInstanceKey')
      assert.equal(r.processDefinitionKey, s.order.processDefinitionKey)
      assert.equal(r.processDefinitionVersion, 1)
      assert.equal(r.tenantId, '<default>')
      s.pi[orderId] = r.processInstanceKey
    }
    const r = await camunda.createProcessInstance({
      processDefinitionKey: s.order.processDefinitionKey, variables: { orderId: 'L-cancel' },
    })
    assert.equal(r.processDefinitionId, 'api_order')
    s.cancelled = r.processInstanceKey
  }],
  ['cancelProcessInstance', async () => {
    await camunda.cancelProcessInstance({ processInstanceKey: s.cancelled })
    const r = await camunda.searchProcessInstances({ filter: { processInstanceKey: s.cancelled } })
    assert.equal(r.items.length, 1)
    assert.equal(r.items[0].state, 'TERMINATED')
  }],
  ['createJobWorker: completes, throws (retries-1), fails to 0 retries', async () => {
    const attempts = {}
    s.failedJob = null
    const done = new Set()
    const worker = camunda.createJobWorker({
      type: 'api.charge', worker: 'legacy-worker', timeout: 30000, maxJobsToActivate: 5,
      requestTimeout: 500, pollIntervalMs: 50,
      jobHandler: async (job) => {
        isKey(job.jobKey, 'jobKey')
        assert.equal(job.type, 'api.charge')
        assert.equal(job.customHeaders.provider, 'acme')
        assert.equal(job.worker, 'legacy-worker')
        assert.equal(job.elementId, 'charge')
        const id = job.variables.orderId
        attempts[id] = (attempts[id] || 0) + 1
        if (id === 'L-3' && attempts[id] === 1) {
          assert.equal(job.retries, 2)
          throw new Error('card reader hiccup') // the worker fails the job with retries 1
        }
        if (id === 'L-3') assert.equal(job.retries, 1)
        if (id === 'L-4') {
          s.failedJob = job.jobKey
          const ack = await job.fail({ errorMessage: 'card declined', retries: 0 })
          done.add(id)
          return ack
        }
        const ack = await job.complete({ charged: true, chargedBy: 'legacy' })
        done.add(id)
        return ack
      },
    })
    try {
      await until('the worker to handle the four orders', () => done.size === 4, 15000)
    } finally {
      await worker.stop()
    }
    // stop() drops the worker's in-flight long poll by closing its connection: crmflow serve sees the
    // client gone and ends that poll before it takes a job (the next steps need the jobs it would take).
    assert.equal(attempts['L-3'], 2)
    assert.equal(attempts['L-4'], 1)
    s.attempts = attempts
  }],
  ['searchIncidents (JOB_NO_RETRIES)', async () => {
    const r = await camunda.searchIncidents({ filter: { processInstanceKey: s.pi['L-4'] } })
    assert.equal(r.items.length, 1)
    const i = r.items[0]
    isKey(i.incidentKey, 'incidentKey')
    assert.equal(i.errorType, 'JOB_NO_RETRIES')
    assert.equal(i.errorMessage, 'card declined')
    assert.equal(i.state, 'ACTIVE')
    assert.equal(i.elementId, 'charge')
    assert.equal(i.jobKey, s.failedJob)
    assert.equal(i.processDefinitionKey, s.order.processDefinitionKey)
    s.incident = i.incidentKey
  }],
  ['updateJob (retries) + resolveIncident; the job runs again', async () => {
    await camunda.updateJob({ jobKey: s.failedJob, retries: 1 })
    await camunda.resolveIncident(s.incident)
    const r = await camunda.searchIncidents({ filter: { processInstanceKey: s.pi['L-4'], state: 'ACTIVE' } })
    assert.equal(r.items.length, 0)
    const jobs = await until('the job to be activatable again', async () => {
      const j = await camunda.activateJobs({
        type: 'api.charge', worker: 'legacy-again', timeout: 30000, maxJobsToActivate: 5, requestTimeout: 2000,
      })
      return j.length ? j : null
    })
    assert.equal(jobs.length, 1)
    assert.equal(jobs[0].jobKey, s.failedJob)
    assert.equal(jobs[0].retries, 1)
    assert.equal(jobs[0].variables.orderId, 'L-4')
    await jobs[0].complete({ charged: true, chargedBy: 'legacy-again' })
  }],
  ['searchUserTasks / getUserTask', async () => {
    const r = await camunda.searchUserTasks({ filter: { processDefinitionKey: s.order.processDefinitionKey, state: 'CREATED' } })
    assert.equal(r.items.length, 4)
    assert.equal(r.page.totalItems, 4)
    s.tasks = {}
    for (const t of r.items) {
      isKey(t.userTaskKey, 'userTaskKey')
      assert.equal(t.elementId, 'approve')
      assert.equal(t.name, 'Approve order')
      assert.deepEqual(t.candidateGroups, ['sales'])
      assert.equal(t.state, 'CREATED')
      const orderId = Object.keys(s.pi).find((o) => s.pi[o] === t.processInstanceKey)
      assert.ok(orderId, `a task of an unknown instance ${t.processInstanceKey}`)
      s.tasks[orderId] = t.userTaskKey
    }
    const t = await camunda.getUserTask(s.tasks['L-1'])
    assert.equal(t.userTaskKey, s.tasks['L-1'])
    assert.equal(t.processInstanceKey, s.pi['L-1'])
    assert.equal(t.processDefinitionId, 'api_order')
    assert.equal(t.assignee, undefined)
  }],
  ['assignUserTask / unassignUserTask', async () => {
    await camunda.assignUserTask({ userTaskKey: s.tasks['L-1'], assignee: 'ann' })
    assert.equal((await camunda.getUserTask(s.tasks['L-1'])).assignee, 'ann')
    const mine = await camunda.searchUserTasks({ filter: { assignee: 'ann' } })
    assert.deepEqual(mine.items.map((t) => t.userTaskKey), [s.tasks['L-1']])
    await camunda.unassignUserTask({ userTaskKey: s.tasks['L-1'] })
    assert.ok(!(await camunda.getUserTask(s.tasks['L-1'])).assignee)
    await camunda.assignUserTask({ userTaskKey: s.tasks['L-1'], assignee: 'ann' })
  }],
  ['publishMessage before the instance waits (buffered)', async () => {
    const m = await camunda.publishMessage({
      name: 'api-paid', correlationKey: 'L-4', timeToLive: 60000, variables: { paidBy: 'buffered' },
    })
    isKey(m.messageKey, 'messageKey')
    assert.equal(m.tenantId, '<default>')
  }],
  ['completeUserTask x4', async () => {
    for (const orderId of orders) {
      await camunda.completeUserTask({ userTaskKey: s.tasks[orderId], variables: { approved: true } })
    }
    const t = await camunda.getUserTask(s.tasks['L-1'])
    assert.equal(t.state, 'COMPLETED')
    assert.equal(t.assignee, 'ann')
    const open = await camunda.searchUserTasks({ filter: { processDefinitionKey: s.order.processDefinitionKey, state: 'CREATED' } })
    assert.equal(open.items.length, 0)
  }],
  ['publishMessage / correlateMessage', async () => {
    const m = await camunda.publishMessage({ name: 'api-paid', correlationKey: 'L-1', timeToLive: 0, variables: { paidBy: 'publish' } })
    isKey(m.messageKey, 'messageKey')
    const c = await camunda.correlateMessage({ name: 'api-paid', correlationKey: 'L-2', variables: { paidBy: 'correlate' } })
    isKey(c.messageKey, 'messageKey')
    assert.equal(c.processInstanceKey, s.pi['L-2'])
    const c3 = await camunda.correlateMessage({ name: 'api-paid', correlationKey: 'L-3' })
    assert.equal(c3.processInstanceKey, s.pi['L-3'])
  }],
  ['broadcastSignal', async () => {
    const r = await camunda.broadcastSignal({ signalName: 'sdk-nobody-listens', variables: { a: 1 } })
    isKey(r.signalKey, 'signalKey')
    assert.equal(r.tenantId, '<default>')
  }],
  ['searchVariables / getVariable', async () => {
    const r = await camunda.searchVariables({ filter: { processInstanceKey: s.pi['L-1'] } })
    const byName = Object.fromEntries(r.items.map((v) => [v.name, v]))
    for (const name of ['orderId', 'charged', 'chargedBy', 'approved', 'paidBy']) assert.ok(byName[name], `no variable ${name}`)
    assert.equal(byName.orderId.value, '"L-1"')
    assert.equal(byName.charged.value, 'true')
    assert.equal(byName.paidBy.value, '"publish"')
    isKey(byName.orderId.variableKey, 'variableKey')
    assert.equal(byName.orderId.processInstanceKey, s.pi['L-1'])
    assert.equal(byName.orderId.scopeKey, s.pi['L-1'])
    const v = await camunda.getVariable({ variableKey: byName.orderId.variableKey })
    assert.equal(v.name, 'orderId')
    assert.equal(v.value, 'L-1') // the SDK JSON.parses the value
    const r4 = await camunda.searchVariables({ filter: { processInstanceKey: s.pi['L-4'], name: 'paidBy' } })
    assert.equal(r4.items.length, 1)
    assert.equal(r4.items[0].value, '"buffered"')
  }],
  ['searchElementInstances', async () => {
    const r = await camunda.searchElementInstances({ filter: { processInstanceKey: s.pi['L-1'] } })
    const byId = Object.fromEntries(r.items.map((e) => [e.elementId, e]))
    const want = { start: 'START_EVENT', charge: 'SERVICE_TASK', approve: 'USER_TASK', paid: 'INTERMEDIATE_CATCH_EVENT', end: 'END_EVENT' }
    for (const [id, type] of Object.entries(want)) {
      assert.ok(byId[id], `no element instance of ${id}`)
      assert.equal(byId[id].type, type)
      assert.equal(byId[id].state, 'COMPLETED')
      isKey(byId[id].elementInstanceKey, 'elementInstanceKey')
    }
    assert.equal(byId.approve.elementName, 'Approve order')
    s.chargeElement = byId.charge.elementInstanceKey
  }],
  ['searchProcessInstances: every order COMPLETED but the cancelled one', async () => {
    const r = await camunda.searchProcessInstances({
      filter: { processDefinitionId: 'api_order' }, sort: [{ field: 'processInstanceKey', order: 'ASC' }],
    })
    assert.equal(r.items.length, 5)
    assert.equal(r.page.totalItems, 5)
    for (const pi of r.items) {
      isKey(pi.processInstanceKey, 'processInstanceKey')
      const want = pi.processInstanceKey === s.cancelled ? 'TERMINATED' : 'COMPLETED'
      assert.equal(pi.state, want, `instance ${pi.processInstanceKey}`)
      assert.equal(pi.hasIncident, false)
    }
    const done = await camunda.searchProcessInstances({ filter: { processDefinitionId: 'api_order', state: 'COMPLETED' } })
    assert.deepEqual(done.items.map((p) => p.processInstanceKey).sort(), Object.values(s.pi).sort())
  }],
  ['getElementInstance', async () => {
    const e = await camunda.getElementInstance(s.chargeElement)
    assert.equal(e.elementId, 'charge')
    assert.equal(e.processInstanceKey, s.pi['L-1'])
    assert.equal(e.type, 'SERVICE_TASK')
  }],
]

steps('legacy', list)
  .then(async (ok) => {
    await sleep(0)
    c8.closeAllClients?.()
    process.exit(ok ? 0 : 1)
  })
  .catch((e) => {
    console.error(e)
    process.exit(1)
  })
