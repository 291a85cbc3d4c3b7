// Small helpers shared by the SDK test scripts (tests/sdk/run.sh sets the environment).
'use strict'
const assert = require('node:assert/strict')

const env = (name) => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set (run this through tests/sdk/run.sh)`)
  return v
}

// A key as Camunda 8.8 sends it: a string of decimal digits (shared/camunda-rest.md §1.3).
const isKey = (k, what) => {
  assert.equal(typeof k, 'string', `${what} is not a string: ${JSON.stringify(k)}`)
  assert.match(k, /^-?[0-9]{1,25}$/, `${what} is not a key: ${JSON.stringify(k)}`)
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// Polls fn until it returns a truthy value, or throws after ms.
async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

// Runs the named steps in order, printing each; the first failure ends the script with 1.
async function steps(name, list) {
  let n = 0
  for (const [what, fn] of list) {
    try {
      await fn()
      n++
      console.log(`  ok ${name}: ${what}`)
    } catch (e) {
      console.error(`  FAIL ${name}: ${what}`)
      console.error(e && e.stack ? e.stack : e)
      if (e && e.response && e.response.body) console.error('  response body:', String(e.response.body))
      if (e && e.detail) console.error('  detail:', e.detail)
      if (e && e.issues) console.error('  issues:', JSON.stringify(e.issues, null, 2))
      return false
    }
  }
  console.log(`${name}: ${n} steps passed`)
  return true
}

// The status of a rejected call, whichever client threw it.
function statusOf(e) {
  if (!e) return undefined
  if (e.response && e.response.statusCode) return e.response.statusCode
  return e.status ?? e.statusCode
}

async function expectStatus(status, what, fn) {
  let got
  try {
    await fn()
  } catch (e) {
    got = statusOf(e)
    if (got === status) return e
    throw new Error(`${what}: expected HTTP ${status}, got ${got}: ${e && e.message}`)
  }
  throw new Error(`${what}: expected HTTP ${status}, but it succeeded`)
}

module.exports = { assert, env, isKey, sleep, until, steps, statusOf, expectStatus }
