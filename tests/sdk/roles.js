// Roles as the SDK clients meet them: a worker token may not deploy, a viewer may not start an
// instance, no token is a 401, an agent sees its group's tasks. Run by tests/sdk/run.sh, after
// legacy.js (which deployed the model and left completed user tasks).
'use strict'
const { Camunda8 } = require('@camunda8/sdk')
const { createCamundaClient } = require('@camunda8/orchestration-cluster-api')
const { assert, env, expectStatus, steps } = require('./lib')

const address = env('CF_ADDRESS')
const bpmn = env('CF_BPMN')

const legacy = (token) => new Camunda8({
  ZEEBE_REST_ADDRESS: address,
  CAMUNDA_AUTH_STRATEGY: token ? 'BEARER' : 'NONE',
  CAMUNDA_OAUTH_TOKEN: token || '',
  CAMUNDA_LOG_LEVEL: 'none',
}).getCamundaRestClient()

const oca = (token) => createCamundaClient({
  config: {
    CAMUNDA_REST_ADDRESS: address,
    CAMUNDA_AUTH_STRATEGY: 'NONE',
    CAMUNDA_SDK_VALIDATION: 'req:strict,res:strict',
    CAMUNDA_SDK_LOG_LEVEL: 'silent',
  },
  fetch: (input, init) => {
    const r = new Request(input, init)
    if (token) r.headers.set('Authorization', `Bearer ${token}`)
    return fetch(r)
  },
})

const problem = (e, status, title) => {
  // The legacy client appends the problem+json body to its message; the OCA client copies its fields.
  if (e.title !== undefined) assert.equal(e.title, title)
  else assert.match(String(e.message), new RegExp(`"title":"${title}".*"status":${status}`))
}

const list = [
  ['worker token: deploy is 403 (legacy and OCA)', async () => {
    const w = env('CF_WORKER_TOKEN')
    problem(await expectStatus(403, 'legacy deploy', () => legacy(w).deployResourcesFromFiles([bpmn])), 403, 'FORBIDDEN')
    problem(await expectStatus(403, 'oca deploy', () => oca(w).deployResourcesFromFiles([bpmn])), 403, 'FORBIDDEN')
  }],
  ['worker token: activating jobs is allowed', async () => {
    const jobs = await legacy(env('CF_WORKER_TOKEN')).activateJobs({
      type: 'sdk.none', worker: 'w', timeout: 1000, maxJobsToActivate: 1, requestTimeout: -1,
    })
    assert.deepEqual(jobs, [])
  }],
  ['viewer token: createProcessInstance is 403, searching is allowed', async () => {
    const v = env('CF_VIEWER_TOKEN')
    problem(await expectStatus(403, 'legacy create', () => legacy(v).createProcessInstance({ processDefinitionId: 'api_quick', variables: { n: 1 } })), 403, 'FORBIDDEN')
    problem(await expectStatus(403, 'oca create', () => oca(v).createProcessInstance({ processDefinitionId: 'api_quick', variables: { n: 1 } })), 403, 'FORBIDDEN')
    const r = await oca(v).searchProcessInstances({ filter: { processDefinitionId: 'api_order' } }, { consistency: { waitUpToMs: 0 } })
    assert.ok(r.items.length > 0)
  }],
  ['no token: 401 (legacy sends an empty Authorization, OCA none)', async () => {
    problem(await expectStatus(401, 'legacy search', () => legacy(null).searchProcessInstances({})), 401, 'UNAUTHORIZED')
    problem(await expectStatus(401, 'oca search', () => oca(null).searchProcessInstances({}, { consistency: { waitUpToMs: 0 } })), 401, 'UNAUTHORIZED')
    await expectStatus(401, 'a wrong token', () => legacy('not-a-token').getProcessDefinition('1'))
    // What stays open without a token.
    await legacy(null).getTopology()
    await oca(null).getLicense()
  }],
  ['agent token: sees the sales group\'s tasks, may not deploy', async () => {
    const a = env('CF_AGENT_TOKEN')
    const r = await legacy(a).searchUserTasks({ filter: { candidateGroup: 'sales' } })
    assert.ok(r.items.length > 0, 'the agent sees no task of its group')
    for (const t of r.items) assert.deepEqual(t.candidateGroups, ['sales'])
    await expectStatus(403, 'agent deploy', () => legacy(a).deployResourcesFromFiles([bpmn]))
  }],
]

steps('roles', list).then((ok) => process.exit(ok ? 0 : 1), (e) => {
  console.error(e)
  process.exit(1)
})
