// www/shared/rpc.js, the one request/reply helper (the demo's training and t-SNE workers, the npm
// package's worker helper), in Node over a MessageChannel: results and errors reach the right call,
// typed arrays in results are transferred, a call's transfer list is used, a message that cannot be
// cloned rejects its call only, fail() rejects pending and later calls, serial servers answer in order.
// Run: node --test rpc.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rpcClient, rpcServer, transferables, CALL, REPLY } from '../../www/shared/rpc.js';

/** A client and a server joined by a MessageChannel; `handle(op, args)` serves the calls. */
function pair(handle, options = {}) {
  const { port1, port2 } = new MessageChannel();
  const sent = []; // what the server posted, with its transfer lists
  const onCall = rpcServer(handle, { ...options, post: (m, t) => { sent.push([m, t]); port2.postMessage(m, t); } });
  port2.onmessage = ({ data }) => { if (data.type === CALL) onCall(data); };
  const client = rpcClient((m, t) => port1.postMessage(m, t));
  const other = [];
  port1.onmessage = ({ data }) => { if (!client.onMessage(data)) other.push(data); };
  return { client, sent, other, close: () => { port1.close(); port2.close(); } };
}

test('results, errors (name and message), transfers, fail()', async () => {
  const { client, sent, close } = pair(async (op, args) => {
    if (op === 'add') return args.a + args.b;
    if (op === 'bytes') return { data: new Float32Array(args.n), n: args.n };
    if (op === 'echo') return args;
    if (op === 'never') return new Promise(() => {});
    if (op === 'range') throw new RangeError('out of range');
    throw `unknown op ${op}`; // not an Error: its text still arrives
  });
  try {
    assert.equal(await client.call('add', { a: 2, b: 3 }), 5);
    const r = await client.call('bytes', { n: 4 });
    assert.ok(r.data instanceof Float32Array && r.data.length === 4);
    assert.equal(sent.at(-1)[1].length, 1, 'the result\'s typed array was transferred');
    await assert.rejects(client.call('range'), (e) => e instanceof Error && e.name === 'RangeError' && e.message === 'out of range');
    await assert.rejects(client.call('nope'), { message: 'unknown op nope' });
    const bytes = new Uint8Array([1, 2, 3]);
    assert.deepEqual([...(await client.call('echo', bytes, [bytes.buffer]))], [1, 2, 3]);
    assert.equal(bytes.byteLength, 0, 'the call\'s transfer list moved the buffer');
    await assert.rejects(client.call('echo', { f: () => 1 }), { name: 'DataCloneError' });
    assert.equal(await client.call('add', { a: 1, b: 1 }), 2, 'still serving after errors');
    const pending = client.call('never');
    client.fail(new Error('gone'));
    await assert.rejects(pending, { message: 'gone' });
    await assert.rejects(client.call('add', { a: 1, b: 1 }), { message: 'gone' });
    assert.equal(client.failed, true);
  } finally {
    close();
  }
});

test('serial servers answer in call order; other messages are left to the caller', async () => {
  const order = [];
  const { client, other, close } = pair(async (op, ms) => {
    order.push(`start ${op}`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`end ${op}`);
    return op;
  }, { serial: true });
  try {
    assert.deepEqual(await Promise.all([client.call('a', 30), client.call('b', 1)]), ['a', 'b']);
    assert.deepEqual(order, ['start a', 'end a', 'start b', 'end b']);
    assert.equal(client.onMessage({ type: 'progress' }), false);
    assert.equal(client.onMessage({ type: REPLY, id: 999, ok: true }), true, 'a stale reply is consumed');
    assert.deepEqual(other, []);
  } finally {
    close();
  }
});

test('transferables: top level and one level deep, each buffer once', () => {
  const a = new Float32Array(2), b = new Uint8Array(a.buffer);
  assert.deepEqual(transferables(a), [a.buffer]);
  assert.deepEqual(transferables({ a, b, n: 1 }), [a.buffer]);
  assert.deepEqual(transferables([new Uint8Array(1), { deep: new Uint8Array(1) }]).length, 1);
  assert.deepEqual(transferables(null), []);
});
