import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { io as connect } from 'socket.io-client';
import { startLiveNode } from '../support/live-node';
import { flagBody } from '../support/flags';
import { BOOTSTRAP_TOKEN, client } from '../support/system';

test('one /live server serves the console namespace and /flags, as npm start wires them', async () => {
  const node = await startLiveNode();
  const sockets: ReturnType<typeof connect>[] = [];
  try {
    const admin = client(node.app, BOOTSTRAP_TOKEN);
    assert.is((await admin('POST', '/api/v1/flags', flagBody('live-wired'))).status, 201);
    const open = (nsp: string) => {
      const s = connect(`${node.url}${nsp}`, { path: '/live', transports: ['websocket'], reconnection: false, auth: { token: BOOTSTRAP_TOKEN } });
      sockets.push(s);
      return s;
    };
    const flags = open('/flags');
    const snapshot = await new Promise<{ flags: Array<{ key: string }> }>((resolve, reject) => {
      flags.once('flags:snapshot', resolve);
      flags.once('connect_error', reject);
    });
    assert.equal(snapshot.flags.map((f) => f.key), ['live-wired']);
    const changed = new Promise<{ key: string }>((resolve) => flags.once('flags:changed', resolve));
    assert.is((await admin('POST', '/api/v1/flags/live-wired/kill', { reason: 'wiring test' })).status, 200);
    assert.is((await changed).key, 'live-wired');

    const console = open('/');
    await new Promise<void>((resolve, reject) => {
      console.once('connect', () => resolve());
      console.once('connect_error', reject);
    });
    const refused = connect(`${node.url}/flags`, { path: '/live', transports: ['websocket'], reconnection: false, auth: { token: 'nope' } });
    sockets.push(refused);
    const err = await new Promise<Error>((resolve) => refused.once('connect_error', resolve));
    assert.match(err.message, /UNAUTHENTICATED/);
  } finally {
    sockets.forEach((s) => s.disconnect());
    await node.stop();
  }
});

test.run();
