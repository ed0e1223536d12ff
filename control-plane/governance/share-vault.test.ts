import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../ports/clock';
import { ShareVault } from './share-vault';

const test = suite('share vault');

test('dropped, replaced and expired shares are zeroed and forgotten', () => {
  const clock = new ManualClock(0);
  const vault = new ShareVault(clock);
  const a = { id: 'a', nonce: 'n1', expiresAt: new Date(1000) };
  const b = { id: 'b', nonce: 'n1', expiresAt: new Date(5000) };
  const s1 = new Uint8Array(33).fill(7);
  const s2 = new Uint8Array(33).fill(8);
  const s3 = new Uint8Array(33).fill(9);
  vault.put(a, 'm1', s1);
  vault.put(a, 'm1', s2);
  assert.ok(s1.every((x) => x === 0), 'the replaced share is zeroed');
  vault.put(b, 'm1', s3);
  assert.is(vault.slot({ ...a, nonce: 'n2' }).size, 0, 'another nonce is another slot');
  clock.increment(1000);
  assert.is(vault.slot(b).get('m1'), s3);
  assert.ok(s2.every((x) => x === 0), 'the expired request’s share is zeroed');
  assert.is(vault.slot(a).size, 0);
  vault.drop(b);
  assert.ok(s3.every((x) => x === 0));
  assert.is(vault.slot(b).size, 0);
});

test.run();
