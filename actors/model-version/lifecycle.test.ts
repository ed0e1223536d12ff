import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MODEL_STATES, type ModelState } from '../../db/schema/enums';
import { ForbiddenError, IllegalTransitionError } from '../errors';
import { throwsA } from '../../test/support/assert';
import { TRANSITIONS, TERMINAL_STATES, decideTransition, isLegalPair, type TransitionContext } from './lifecycle';

/** A context in which every guard of a legal pair passes. */
function permissive(from: ModelState, to: ModelState): TransitionContext {
  return {
    model: { state: from, owner: 'ana', artifactSha256: 'a'.repeat(64), canaryVerdict: 'PASSED' },
    tenantStage: 'PILOT',
    actorRole: 'ADMIN',
    approvals: [{ approver: 'maria', role: 'MANAGER', decision: 'approve' }],
    rollback: (from === 'DEPRECATED' && to === 'CHAMPION') || (from === 'CHAMPION' && to === 'ROLLED_BACK'),
    superseded: from === 'CHAMPION' && to === 'DEPRECATED',
  };
}

const pairs = MODEL_STATES.flatMap((from) => MODEL_STATES.map((to) => [from, to] as const));
const legalPairs = pairs.filter(([f, t]) => isLegalPair(f, t));
const illegalPairs = pairs.filter(([f, t]) => !isLegalPair(f, t));

const lifecycle = suite('lifecycle table');

lifecycle('the table is the documented lifecycle', () => {
  assert.ok(isLegalPair('DRAFT', 'TRAINING'));
  assert.ok(isLegalPair('CANARY', 'CHAMPION'));
  assert.ok(isLegalPair('CHAMPION', 'DEPRECATED'));
  assert.ok(isLegalPair('DEPRECATED', 'CHAMPION'));
  assert.not.ok(isLegalPair('FAILED', 'CHAMPION'));
  assert.not.ok(isLegalPair('DRAFT', 'CHAMPION'));
  assert.equal(legalPairs.length, 21);
  assert.equal(illegalPairs.length, 79);
});

lifecycle('QUARANTINED is reachable from every non-terminal state and terminal states lead nowhere', () => {
  for (const s of MODEL_STATES) {
    if (TERMINAL_STATES.includes(s)) assert.equal(Object.keys(TRANSITIONS[s]).length, 0, s);
    else if (s !== 'QUARANTINED') assert.ok(isLegalPair(s, 'QUARANTINED'), `${s} → QUARANTINED`);
  }
});

lifecycle('every legal pair passes when its guards hold', () => {
  for (const [from, to] of legalPairs) decideTransition(to, permissive(from, to));
});

lifecycle('every illegal pair of the 10×10 matrix is refused with ILLEGAL_TRANSITION (property)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...illegalPairs), fc.constantFrom('MANAGER' as const, 'ADMIN' as const), ([from, to], role) => {
      const ctx = { ...permissive(from, to), actorRole: role, rollback: true, superseded: true };
      throwsA(() => decideTransition(to, ctx), IllegalTransitionError, new RegExp(`${from} → ${to}`));
    }),
    { numRuns: 300 },
  );
});

const guards = suite('lifecycle guards');

guards('a version without an owner cannot leave DRAFT', () => {
  const ctx = permissive('DRAFT', 'TRAINING');
  ctx.model.owner = null;
  throwsA(() => decideTransition('TRAINING', ctx), IllegalTransitionError, /owner/);
});

guards('CHAMPION needs canary evidence that passed, an artifact and a named approval in PILOT', () => {
  const noCanary = permissive('CANARY', 'CHAMPION');
  noCanary.model.canaryVerdict = 'INCONCLUSIVE';
  throwsA(() => decideTransition('CHAMPION', noCanary), IllegalTransitionError);
  const noArtifact = permissive('CANARY', 'CHAMPION');
  noArtifact.model.artifactSha256 = null;
  throwsA(() => decideTransition('CHAMPION', noArtifact), IllegalTransitionError);
  const noApproval = { ...permissive('CANARY', 'CHAMPION'), approvals: [] };
  throwsA(() => decideTransition('CHAMPION', noApproval), ForbiddenError);
  const agronomistOnly = { ...permissive('CANARY', 'CHAMPION'), approvals: [{ approver: 'joe', role: 'AGRONOMIST' as const, decision: 'approve' as const }] };
  throwsA(() => decideTransition('CHAMPION', agronomistOnly), ForbiddenError);
  const rejected = {
    ...permissive('CANARY', 'CHAMPION'),
    approvals: [
      { approver: 'maria', role: 'MANAGER' as const, decision: 'approve' as const },
      { approver: 'li', role: 'MANAGER' as const, decision: 'reject' as const },
    ],
  };
  throwsA(() => decideTransition('CHAMPION', rejected), ForbiddenError, /rejected/);
  // A manager who changed their mind: the latest decision counts.
  const changed = {
    ...permissive('CANARY', 'CHAMPION'),
    approvals: [
      { approver: 'li', role: 'MANAGER' as const, decision: 'reject' as const },
      { approver: 'li', role: 'MANAGER' as const, decision: 'approve' as const },
    ],
  };
  decideTransition('CHAMPION', changed);
  // Controlled autonomy: the risk matrix stands in for the human.
  decideTransition('CHAMPION', { ...permissive('CANARY', 'CHAMPION'), approvals: [], tenantStage: 'CONTROLLED_AUTONOMY' });
});

guards('DEPRECATED → CHAMPION and CHAMPION → ROLLED_BACK only as a rollback; CHAMPION → DEPRECATED only when superseded', () => {
  throwsA(() => decideTransition('CHAMPION', { ...permissive('DEPRECATED', 'CHAMPION'), rollback: false }), IllegalTransitionError);
  throwsA(() => decideTransition('ROLLED_BACK', { ...permissive('CHAMPION', 'ROLLED_BACK'), rollback: false }), IllegalTransitionError);
  throwsA(() => decideTransition('DEPRECATED', { ...permissive('CHAMPION', 'DEPRECATED'), superseded: false }), IllegalTransitionError);
});

guards('leaving QUARANTINED needs an ADMIN; AGRONOMISTs change nothing', () => {
  throwsA(() => decideTransition('VALIDATED', { ...permissive('QUARANTINED', 'VALIDATED'), actorRole: 'MANAGER' }), ForbiddenError);
  decideTransition('VALIDATED', { ...permissive('QUARANTINED', 'VALIDATED'), actorRole: 'ADMIN' });
  for (const [from, to] of legalPairs) {
    throwsA(() => decideTransition(to, { ...permissive(from, to), actorRole: 'AGRONOMIST' }), ForbiddenError);
  }
});

lifecycle.run();
guards.run();
