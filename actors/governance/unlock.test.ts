import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ShareAlreadyReceivedError, UnlockExpiredError, UnlockNotOpenError } from '../errors';
import { ALWAYS_LOCKED, assertOpenForShares, countSubmission, GOVERNANCE_LOCKED_ACTIONS, isGovernanceAction, lockedActionsList, usable } from './unlock';

const test = suite('governance unlock rules');

test('property: submissions in any order reach the threshold exactly at the M-th distinct member; duplicates refused, counted once', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 30 }), fc.integer({ min: 2, max: 7 }), (sequence, threshold) => {
      const received: string[] = [];
      for (const n of sequence) {
        const id = `m${n}`;
        if (received.includes(id)) {
          assert.throws(() => countSubmission(received, id, threshold), (e: unknown) => e instanceof ShareAlreadyReceivedError);
          continue;
        }
        const { count, reached } = countSubmission(received, id, threshold);
        received.push(id);
        assert.is(count, received.length);
        assert.is(reached, received.length >= threshold);
      }
    }),
  );
});

test('a request takes shares only while PENDING and before its expiry', () => {
  const at = new Date('2026-01-02T00:00:00Z');
  const base = { id: 'u', threshold: 5, expiresAt: at };
  assertOpenForShares({ ...base, state: 'PENDING' }, new Date(at.getTime() - 1));
  assert.throws(() => assertOpenForShares({ ...base, state: 'PENDING' }, at), (e: unknown) => e instanceof UnlockExpiredError);
  assert.throws(() => assertOpenForShares({ ...base, state: 'UNLOCKED' }, new Date(0)), (e: unknown) => e instanceof UnlockNotOpenError);
  assert.throws(() => assertOpenForShares({ ...base, state: 'CONSUMED' }, new Date(0)), (e: unknown) => e instanceof UnlockNotOpenError);
  assert.is(usable({ ...base, state: 'UNLOCKED' }, new Date(0)), 'ok');
  assert.is(usable({ ...base, state: 'UNLOCKED' }, at), 'expired');
  assert.is(usable({ ...base, state: 'PENDING' }, new Date(0)), 'pending');
  assert.is(usable({ ...base, state: 'CONSUMED' }, new Date(0)), 'consumed');
});

test('the locked-action list covers the issue’s defaults and nothing unknown passes', () => {
  for (const a of ['tenant.forensic-lock.lift', 'tenant.stage.controlled-autonomy', 'tenant.risk-matrix.change', 'tenant.rollback-thresholds.change', 'oracle.exposure.open', 'baseline.reset', 'node-key.rotate', 'committee.change']) {
    assert.ok(isGovernanceAction(a), a);
  }
  // …plus the action that changes the list itself.
  assert.ok(isGovernanceAction('governance.locked-actions.change'));
  assert.is(GOVERNANCE_LOCKED_ACTIONS.length, 9);
  assert.not.ok(isGovernanceAction('tenant.delete'));
});

test('a new locked-action list: canonical form, known actions, the guards of the committee and the list stay', () => {
  assert.equal(lockedActionsList(['node-key.rotate', 'committee.change', 'governance.locked-actions.change', 'committee.change']), ['committee.change', 'governance.locked-actions.change', 'node-key.rotate']);
  assert.throws(() => lockedActionsList(['committee.change']), /governance.locked-actions.change must stay locked/);
  assert.throws(() => lockedActionsList(['governance.locked-actions.change']), /committee.change must stay locked/);
  assert.throws(() => lockedActionsList([...ALWAYS_LOCKED, 'tenant.delete']), /unknown governance actions: tenant.delete/);
});

test.run();
