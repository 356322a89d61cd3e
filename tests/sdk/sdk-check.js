// Cloudflare's official TypeScript SDK (npm package `cloudflare`, used as
// published) against a running cflive-server: every call the live-input API
// offers through the SDK, and the errors the SDK maps from the server's
// status codes.
//
//   CFLIVE_API_BASE=http://127.0.0.1:PORT/client/v4 CFLIVE_ACCOUNT=ID \
//   CFLIVE_TOKEN=TOKEN [CFLIVE_EMAIL=E CFLIVE_KEY=K] node sdk-check.js
//
// Prints one line per check and "N passed, N failed" at the end; exits
// non-zero on the first failure.
'use strict';

const assert = require('node:assert/strict');
const Cloudflare = require('cloudflare');

const baseURL = process.env.CFLIVE_API_BASE;
const account_id = process.env.CFLIVE_ACCOUNT;
const apiToken = process.env.CFLIVE_TOKEN;
if (!baseURL || !account_id || !apiToken) {
  console.error('CFLIVE_API_BASE, CFLIVE_ACCOUNT and CFLIVE_TOKEN are needed');
  process.exit(2);
}

const HEX32 = /^[0-9a-f]{32}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let passed = 0;

async function check(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.log(`FAIL ${name}`);
    console.log(e && e.stack ? e.stack : e);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
  passed++;
  console.log(`ok   ${name}`);
}

// The SDK error a call ends with
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('the call succeeded');
}

function secretOf(uid, s) {
  assert.match(s, new RegExp(`^[0-9a-f]{32}k${uid}$`));
}

async function all(page) {
  const items = [];
  for await (const item of page) items.push(item);
  return items;
}

async function main() {
  const cf = new Cloudflare({ apiToken, baseURL, maxRetries: 0, timeout: 20000 });
  let input, input2, output;

  await check('liveInputs.create returns the input with its credentials', async () => {
    input = await cf.stream.liveInputs.create({
      account_id,
      meta: { name: 'sdk check' },
      recording: { mode: 'automatic', timeoutSeconds: 10 },
      deleteRecordingAfterDays: 45,
    });
    assert.match(input.uid, HEX32);
    assert.equal(input.meta.name, 'sdk check');
    assert.equal(input.recording.mode, 'automatic');
    assert.equal(input.recording.timeoutSeconds, 10);
    assert.equal(input.deleteRecordingAfterDays, 45);
    assert.equal(input.enabled, true);
    assert.match(input.created, RFC3339);
    assert.match(input.modified, RFC3339);
    assert.match(input.rtmps.url, /^rtmps?:\/\/.+\/$/);
    secretOf(input.uid, input.rtmps.streamKey);
    assert.match(input.srt.url, /^srt:\/\/.+:\d+$/);
    assert.equal(input.srt.streamId, input.uid);
    secretOf(input.uid, input.srt.passphrase);
    secretOf(input.uid, input.rtmpsPlayback.streamKey);
    assert.notEqual(input.rtmpsPlayback.streamKey, input.rtmps.streamKey);
    assert.equal(input.status, null);
  });

  await check('liveInputs.create with defaults', async () => {
    input2 = await cf.stream.liveInputs.create({ account_id });
    assert.match(input2.uid, HEX32);
    assert.notEqual(input2.uid, input.uid);
    assert.equal(input2.recording.mode, 'off');
  });

  await check('liveInputs.get returns the same input', async () => {
    const got = await cf.stream.liveInputs.get(input.uid, { account_id });
    assert.equal(got.uid, input.uid);
    assert.deepEqual(got.meta, input.meta);
    assert.equal(got.rtmps.streamKey, input.rtmps.streamKey);
    assert.equal(got.srt.passphrase, input.srt.passphrase);
    assert.equal(got.created, input.created);
  });

  await check('liveInputs.list lists both, without credentials', async () => {
    const list = await cf.stream.liveInputs.list({ account_id, include_counts: true });
    assert.ok(Array.isArray(list.liveInputs));
    const uids = list.liveInputs.map((i) => i.uid);
    assert.ok(uids.includes(input.uid) && uids.includes(input2.uid), uids.join(','));
    assert.ok(list.total >= 2, `total ${list.total}`);
    const item = list.liveInputs.find((i) => i.uid === input.uid);
    assert.equal(item.meta.name, 'sdk check');
    assert.equal(item.rtmps, undefined);
    assert.equal(item.srt, undefined);
  });

  await check('liveInputs.update changes what it is given', async () => {
    const upd = await cf.stream.liveInputs.update(input.uid, {
      account_id,
      meta: { name: 'renamed' },
      enabled: false,
      recording: { mode: 'automatic', timeoutSeconds: 20 },
    });
    assert.equal(upd.uid, input.uid);
    assert.equal(upd.meta.name, 'renamed');
    assert.equal(upd.enabled, false);
    assert.equal(upd.recording.timeoutSeconds, 20);
    assert.equal(upd.deleteRecordingAfterDays, 45);
    assert.equal(upd.rtmps.streamKey, input.rtmps.streamKey);
    const got = await cf.stream.liveInputs.get(input.uid, { account_id });
    assert.equal(got.meta.name, 'renamed');
    assert.equal(got.enabled, false);
  });

  await check('outputs.create', async () => {
    output = await cf.stream.liveInputs.outputs.create(input.uid, {
      account_id,
      url: 'rtmp://127.0.0.1:1935/live',
      streamKey: 'sdk-output-key',
    });
    assert.match(output.uid, HEX32);
    assert.equal(output.url, 'rtmp://127.0.0.1:1935/live');
    assert.equal(output.streamKey, 'sdk-output-key');
    assert.equal(output.enabled, true);
  });

  await check('outputs.list', async () => {
    const outputs = await all(cf.stream.liveInputs.outputs.list(input.uid, { account_id }));
    assert.equal(outputs.length, 1);
    assert.deepEqual(outputs[0], output);
  });

  await check('outputs.update disables it', async () => {
    const upd = await cf.stream.liveInputs.outputs.update(input.uid, output.uid, {
      account_id,
      enabled: false,
    });
    assert.equal(upd.uid, output.uid);
    assert.equal(upd.enabled, false);
    assert.equal(upd.url, output.url);
    const outputs = await all(cf.stream.liveInputs.outputs.list(input.uid, { account_id }));
    assert.equal(outputs[0].enabled, false);
  });

  await check('outputs.delete', async () => {
    await cf.stream.liveInputs.outputs.delete(input.uid, output.uid, { account_id });
    const outputs = await all(cf.stream.liveInputs.outputs.list(input.uid, { account_id }));
    assert.equal(outputs.length, 0);
  });

  await check('stream.list (videos)', async () => {
    const videos = await all(cf.stream.list({ account_id }));
    assert.ok(Array.isArray(videos));
    for (const v of videos) assert.match(v.uid, HEX32);
  });

  await check('webhooks.update / get / delete', async () => {
    const set = await cf.stream.webhooks.update({
      account_id,
      notificationUrl: 'http://127.0.0.1:9/hook',
    });
    assert.equal(set.notificationUrl, 'http://127.0.0.1:9/hook');
    assert.match(set.secret, /^[0-9a-f]{32,}$/);
    assert.match(set.modified, RFC3339);
    const got = await cf.stream.webhooks.get({ account_id });
    assert.equal(got.notificationUrl, 'http://127.0.0.1:9/hook');
    await cf.stream.webhooks.delete({ account_id });
  });

  await check('a refused value is a BadRequestError with the reason', async () => {
    const e = await rejection(cf.stream.liveInputs.update(input.uid, {
      account_id,
      deleteRecordingAfterDays: 10,
    }));
    assert.ok(e instanceof Cloudflare.BadRequestError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 400);
    assert.ok(Array.isArray(e.errors) && e.errors.length >= 1, JSON.stringify(e.errors));
    assert.ok(Number.isInteger(e.errors[0].code) && e.errors[0].code >= 1000);
    assert.match(e.errors[0].message, /deleteRecordingAfterDays/);
    const got = await cf.stream.liveInputs.get(input.uid, { account_id });
    assert.equal(got.deleteRecordingAfterDays, 45);
  });

  await check('liveInputs.delete, then get is a NotFoundError', async () => {
    await cf.stream.liveInputs.delete(input.uid, { account_id });
    await cf.stream.liveInputs.delete(input2.uid, { account_id });
    const e = await rejection(cf.stream.liveInputs.get(input.uid, { account_id }));
    assert.ok(e instanceof Cloudflare.NotFoundError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 404);
    const list = await cf.stream.liveInputs.list({ account_id });
    assert.ok(!list.liveInputs.some((i) => i.uid === input.uid || i.uid === input2.uid));
  });

  await check('a wrong token is refused', async () => {
    const bad = new Cloudflare({ apiToken: 'not-the-token', baseURL, maxRetries: 0 });
    const e = await rejection(bad.stream.liveInputs.list({ account_id }));
    assert.ok(e instanceof Cloudflare.AuthenticationError ||
      e instanceof Cloudflare.PermissionDeniedError, `${e.constructor.name}: ${e.message}`);
  });

  if (process.env.CFLIVE_EMAIL && process.env.CFLIVE_KEY) {
    await check('X-Auth-Email / X-Auth-Key', async () => {
      const byKey = new Cloudflare({
        apiEmail: process.env.CFLIVE_EMAIL,
        apiKey: process.env.CFLIVE_KEY,
        baseURL,
        maxRetries: 0,
      });
      const created = await byKey.stream.liveInputs.create({ account_id });
      assert.match(created.uid, HEX32);
      await byKey.stream.liveInputs.delete(created.uid, { account_id });
      const wrong = new Cloudflare({
        apiEmail: process.env.CFLIVE_EMAIL,
        apiKey: 'not-the-key',
        baseURL,
        maxRetries: 0,
      });
      const e = await rejection(wrong.stream.liveInputs.list({ account_id }));
      assert.ok(e instanceof Cloudflare.AuthenticationError ||
        e instanceof Cloudflare.PermissionDeniedError, `${e.constructor.name}`);
    });
  }

  console.log(`${passed} passed, 0 failed`);
}

main().catch((e) => {
  console.log(e && e.stack ? e.stack : e);
  process.exit(1);
});
