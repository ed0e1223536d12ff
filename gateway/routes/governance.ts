import { Hono } from 'hono';
import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../../actors/errors';
import { GOVERNANCE_LOCKED_ACTIONS, lockedActionsList, type GovernanceAction } from '../../actors/governance/unlock';
import type { LockedActionsService } from '../../control-plane/governance/locked-actions';
import { TENANT_STAGES } from '../../db/schema/enums';
import { UNLOCK_STATES, type UnlockState } from '../../db/schema/governance';
import { MEMBER_ID } from '../../control-plane/governance/ceremony';
import { committeeDto, type CommitteeStore } from '../../control-plane/governance/committee-store';
import { INIT_HINT } from '../../control-plane/governance/gate';
import type { TenantControls } from '../../control-plane/governance/tenant-controls';
import type { UnlockService } from '../../control-plane/governance/unlock-service';
import { TENANT_ID } from '../../control-plane/registry/ids';
import type { RegistryService } from '../../control-plane/registry/registry-service';
import { intParam, readJson } from '../middleware/body';
import { KID } from './keys';

const text = (max: number) => z.string().trim().min(1).max(max);
const b64url = (max: number) => z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url').max(max);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const unlockIdField = z.uuid().optional();

/** Params of an action: a small JSON object (its canonical hash is what the committee signs). */
const Params = z.record(z.string(), z.json()).refine((p) => JSON.stringify(p).length <= 16_384, 'params must be at most 16 KB of JSON');

/** The params the wired endpoints bind: a proposal that could never match its endpoint is refused up front. */
const ACTION_PARAMS: Partial<Record<GovernanceAction, z.ZodType>> = {
  'tenant.forensic-lock.lift': z.strictObject({ tenantId: z.string().regex(TENANT_ID) }),
  'tenant.stage.controlled-autonomy': z.strictObject({ tenantId: z.string().regex(TENANT_ID), stage: z.literal('CONTROLLED_AUTONOMY') }),
  'committee.change': z.strictObject({ committeeDigest: hex64 }),
  'governance.locked-actions.change': z.strictObject({ lockedActions: z.lazy(() => CanonicalLockedList) }),
  'node-key.rotate': z.strictObject({ kid: z.string().regex(KID, 'must be the 43-character key id being rotated out (GET /api/v1/keys/current)') }),
  'tenant.risk-matrix.change': z.strictObject({ tenantId: z.string().regex(TENANT_ID), riskMatrix: z.lazy(() => RiskMatrixSchema) }),
};

const Propose = z
  .strictObject({ action: z.enum(GOVERNANCE_LOCKED_ACTIONS), params: Params, justification: text(2000) })
  .superRefine((body, ctx) => {
    const schema = ACTION_PARAMS[body.action];
    const parsed = schema?.safeParse(body.params);
    if (parsed && !parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['params', ...issue.path.map(String)], message: `${body.action}: ${issue.message}` });
    }
  });
const Submit = z.strictObject({ memberId: z.string().regex(MEMBER_ID, `must match ${MEMBER_ID.source}`), share: b64url(100), signature: b64url(100) });
const Empty = z.strictObject({});

const Member = z.strictObject({ id: z.string(), name: z.string().max(200), publicKey: b64url(64), index: z.number().int().min(1).max(255), commitment: hex64 });
const InstallCommittee = z.strictObject({
  committee: z.strictObject({
    committeeId: z.uuid(),
    publicKey: b64url(64),
    threshold: z.number().int().min(2).max(255),
    salt: b64url(64),
    members: z.array(Member).min(2).max(255),
    proof: b64url(100),
  }),
  unlockId: unlockIdField,
});

/** The limits of automatic promotion (CONTROLLED_AUTONOMY); every field optional, defaults in README. */
export const RiskMatrixSchema = z.strictObject({
  maxTrafficPercent: z.number().min(1).max(100).optional(),
  maxRelativeMaeDelta: z.number().min(-1).max(1).optional(),
  minSamplesPerArm: z.number().int().min(1000).max(10_000_000).optional(),
  minDaysBetweenPromotions: z.number().min(0).max(365).optional(),
});
const SetRiskMatrix = z.strictObject({ riskMatrix: RiskMatrixSchema, justification: text(2000), unlockId: unlockIdField });
const SetEconomics = z.strictObject({
  /** US dollars lost per prediction per unit of absolute error. */
  valuePerErrorUnitUsd: z.number().finite().min(0, 'valuePerErrorUnitUsd must not be negative').max(1_000_000, 'valuePerErrorUnitUsd must be at most 1,000,000 (dollars per prediction per unit of error)'),
  unit: z.string().trim().min(1).max(60),
  justification: text(2000),
});
const SEGMENT = z.string().trim().min(1).max(100);
const SetRolloutPolicy = z.strictObject({
  waves: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .max(10)
    .refine((w) => w.every((x, i) => i === 0 || x > w[i - 1]!), 'waves must increase')
    .optional(),
  shadowCycles: z.number().int().min(1).max(100).optional(),
  restrictedSegments: z.array(SEGMENT).max(100).optional(),
  restrictedUntilPercent: z.number().min(0).max(100).optional(),
  criticalSegments: z.array(SEGMENT).max(100).optional(),
  justification: text(2000),
});
const SetStage = z.strictObject({ stage: z.enum(TENANT_STAGES), justification: text(2000), unlockId: unlockIdField });
const SetLock = z.strictObject({ reason: text(2000) });
const LockedList = z.array(z.string().max(100)).max(GOVERNANCE_LOCKED_ACTIONS.length * 2);
/** What the committee signs is the list in its one canonical form, so a proposal must already be in it. */
const CanonicalLockedList = LockedList.superRefine((list, ctx) => {
  try {
    const canonical = lockedActionsList(list);
    if (JSON.stringify(canonical) !== JSON.stringify(list)) ctx.addIssue({ code: 'custom', message: `give the list sorted and without duplicates: ${JSON.stringify(canonical)}` });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
const ChangeLockedActions = z.strictObject({ lockedActions: LockedList, justification: text(2000), unlockId: unlockIdField });
const LiftLock = z.strictObject({ justification: text(2000), unlockId: unlockIdField });

function tenantParam(id: string): string {
  if (!TENANT_ID.test(id)) throw new NotFoundError(`no tenant ${id}`);
  return id;
}

/** The committee, unlock requests and the governance-locked tenant controls (`/api/v1`). */
export function governanceRoutes(deps: { committees: CommitteeStore; unlocks: UnlockService; controls: TenantControls; lockedActions: LockedActionsService; registry: RegistryService }) {
  const { committees, unlocks, controls, lockedActions, registry } = deps;
  return new Hono()
    .get('/governance/actions', (c) => c.json({ items: [...GOVERNANCE_LOCKED_ACTIONS] }))
    .get('/governance/locked-actions', async (c) => c.json(await lockedActions.get()))
    .put('/governance/locked-actions', async (c) => {
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'changing the governance-locked actions', 'governance:locked-actions');
      const body = await readJson(c, ChangeLockedActions);
      return c.json(await lockedActions.change(body, c.var.principal));
    })
    .get('/governance/committee', async (c) => {
      const committee = await committees.get();
      if (!committee) throw new NotFoundError(`no governance committee: ${INIT_HINT}`);
      return c.json(committeeDto(committee));
    })
    .put('/governance/committee', async (c) => {
      await registry.requireRoleAudited(c.var.principal, 'ADMIN', 'installing a governance committee', 'governance');
      const body = await readJson(c, InstallCommittee);
      return c.json(await committees.install(body.committee, body.unlockId, c.var.principal), 201);
    })
    .post('/governance/unlocks', async (c) => {
      const body = await readJson(c, Propose);
      return c.json(await unlocks.propose(body, c.var.principal), 201);
    })
    .get('/governance/unlocks', async (c) => {
      const state = c.req.query('state');
      if (state !== undefined && !(UNLOCK_STATES as readonly string[]).includes(state)) throw new BadRequestError(`state must be one of ${UNLOCK_STATES.join(', ')}`);
      const limit = intParam(c.req.query('limit'), 'limit', 50, 1, 200);
      return c.json({ items: await unlocks.list(state as UnlockState | undefined, limit) });
    })
    .get('/governance/unlocks/:id', async (c) => c.json(await unlocks.get(c.req.param('id'))))
    .post('/governance/unlocks/:id/shares', async (c) => {
      const body = await readJson(c, Submit);
      return c.json(await unlocks.submitShare(c.req.param('id'), body, c.var.principal));
    })
    .post('/governance/unlocks/:id/reset', async (c) => {
      // No body, or an empty JSON object.
      if ((await c.req.text()).trim() !== '') await readJson(c, Empty);
      return c.json(await unlocks.reset(c.req.param('id'), c.var.principal));
    })
    .put('/tenants/:tenantId/stage', async (c) => {
      const id = tenantParam(c.req.param('tenantId'));
      const body = await readJson(c, SetStage);
      return c.json(await controls.setStage(id, body, c.var.principal));
    })
    .put('/tenants/:tenantId/rollout-policy', async (c) => {
      const id = tenantParam(c.req.param('tenantId'));
      const { justification, criticalSegments, ...policy } = await readJson(c, SetRolloutPolicy);
      return c.json(await controls.setRolloutPolicy(id, { policy, criticalSegments, justification }, c.var.principal));
    })
    .put('/tenants/:tenantId/risk-matrix', async (c) => {
      const id = tenantParam(c.req.param('tenantId'));
      const body = await readJson(c, SetRiskMatrix);
      return c.json(await controls.setRiskMatrix(id, body, c.var.principal));
    })
    .put('/tenants/:tenantId/economics', async (c) => {
      const id = tenantParam(c.req.param('tenantId'));
      const { justification, ...economics } = await readJson(c, SetEconomics);
      return c.json(await controls.setEconomics(id, { economics, justification }, c.var.principal));
    })
    .post('/tenants/:tenantId/lock', async (c) => {
      const id = tenantParam(c.req.param('tenantId'));
      const body = await readJson(c, SetLock);
      return c.json(await controls.setLock(id, body.reason, c.var.principal));
    })
    .delete('/tenants/:tenantId/lock', async (c) => {
      const id = tenantParam(c.req.param('tenantId'));
      const body = await readJson(c, LiftLock);
      return c.json(await controls.liftLock(id, body, c.var.principal));
    });
}
