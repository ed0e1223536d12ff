import { Hono } from 'hono';
import { z } from 'zod';
import { BadRequestError } from '../../actors/errors';
import type { FlagService } from '../../control-plane/flags/flag-service';
import { ledgerMarkdown } from '../../control-plane/flags/ledger-export';
import { intParam, readJson } from '../middleware/body';

const FLAG_KEY = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const name = z.string().trim().min(1).max(200);
const share = z.number().min(0).max(1);
const twoDecimals = (x: number) => Math.abs(Math.round(x * 100) - x * 100) < 1e-9;

const ProfileBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  params: z.record(z.string().min(1).max(100), z.union([z.string().max(1000), z.number(), z.boolean()])).refine((p) => Object.keys(p).length <= 50, 'at most 50 params'),
  targetLatencyMs: z.number().positive().max(3_600_000).optional(),
});

const AudienceBody = z.strictObject({
  users: z.array(name).max(10_000).optional(),
  segments: z.array(name).max(100).optional(),
  percentage: z.number().min(0).max(100).refine(twoDecimals, 'at most two decimals').optional(),
});

const CreateFlag = z.strictObject({
  key: z.string().regex(FLAG_KEY, 'lowercase letters, digits, ".", "_" or "-", at most 63, starting with a letter or digit'),
  description: z.string().trim().min(1).max(2000),
  owner: name,
  audience: AudienceBody.optional(),
  dependencies: z.array(z.string().regex(FLAG_KEY, 'a flag key')).max(20).optional(),
  profile: ProfileBody,
  defaultProfile: ProfileBody,
  releaseNotes: z.record(z.enum(['1', '2', '3', '4']), z.string().trim().min(1).max(20_000)).optional(),
});

/** Fields an edit may not touch, with where they do change. */
const NOT_EDITABLE: Record<string, string> = {
  stage: 'a stage moves only through PUT /api/v1/flags/:key/stage (promotion through the gates, rollback, restore) or the kill switch',
  killed: 'use the kill switch (POST /api/v1/flags/:key/kill) or a restore (PUT /api/v1/flags/:key/stage)',
  key: 'a flag key never changes',
  version: 'the version grows by itself; send the one you read as expectedVersion',
};

const EditFlag = z
  .strictObject({
    expectedVersion: z.number().int().min(1),
    justification: z.string().trim().min(1).max(2000),
    description: z.string().trim().min(1).max(2000).optional(),
    owner: name.optional(),
    audience: AudienceBody.optional(),
    dependencies: z.array(z.string().regex(FLAG_KEY, 'a flag key')).max(20).optional(),
    profile: ProfileBody.optional(),
    defaultProfile: ProfileBody.optional(),
    ...Object.fromEntries(Object.keys(NOT_EDITABLE).map((k) => [k, z.unknown().optional()])),
  })
  .superRefine((body, ctx) => {
    for (const [field, where] of Object.entries(NOT_EDITABLE)) if ((body as Record<string, unknown>)[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `not editable: ${where}` });
    if (!['description', 'owner', 'audience', 'dependencies', 'profile', 'defaultProfile'].some((f) => (body as Record<string, unknown>)[f] !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'nothing to edit: give at least one of description, owner, audience, dependencies, profile, defaultProfile' });
    }
  });

const StageChange = z.strictObject({
  stage: z.number().int().min(0).max(4),
  justification: z.string().trim().min(1).max(2000),
  releaseNotes: z.string().trim().min(1).max(20_000).optional(),
});

const Approval = z.strictObject({
  stage: z.number().int().min(1).max(4),
  justification: z.string().trim().min(1).max(2000),
  releaseNotes: z.string().trim().min(1).max(20_000).optional(),
});

const Run = z.strictObject({
  runId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits, ".", "_", ":" or "-", at most 128'),
  at: z.iso.datetime({ offset: true }).optional(),
  passRate: share,
  avgScore: z.number().finite(),
  topIssueRate: share,
  avgLatencyMs: z.number().min(0).max(3_600_000),
  p95LatencyMs: z.number().min(0).max(3_600_000),
  vetoedShare: share,
  errorRate: share,
  timeoutRate: share.default(0),
  manualCorrectionRate: share,
  testsPassed: z.boolean(),
  userBlockingReports: z.number().int().min(0).max(1_000_000).default(0),
  incidents: z.number().int().min(0).max(1_000_000).default(0),
  issues: z
    .record(z.string().min(1).max(200), z.number().int().min(0))
    .refine((r) => Object.keys(r).length <= 200, 'at most 200 issues')
    .default({}),
  baseline: z.strictObject({ passRate: share, avgScore: z.number().finite(), topIssueRate: share, vetoedShare: share }),
});

const Kill = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

function flagKey(key: string): string {
  if (!FLAG_KEY.test(key)) throw new BadRequestError(`"${key.slice(0, 80)}" is not a flag key (lowercase letters, digits, ".", "_" or "-")`);
  return key;
}

function keyList(value: string | undefined, what: string): string[] {
  if (value === undefined || value === '') return [];
  const keys = value.split(',').map((k) => k.trim());
  if (keys.length > 200) throw new BadRequestError(`${what}: at most 200 flag keys`);
  for (const k of keys) if (!FLAG_KEY.test(k)) throw new BadRequestError(`${what}: "${k.slice(0, 80)}" is not a flag key`);
  return keys;
}

/** Feature flags (`/api/v1`): definitions, stages, runs, the kill switch, evaluation, ledger and report. */
export function flagRoutes(flags: FlagService) {
  return new Hono()
    .get('/flags/evaluate', async (c) => {
      const subject = c.req.query('subject');
      if (!subject || subject.length > 200) throw new BadRequestError('subject is required (the subject id, at most 200 characters)');
      const segments = c.req.queries('segment') ?? [];
      if (segments.length > 50 || segments.some((s) => s.length === 0 || s.length > 200)) throw new BadRequestError('segment: at most 50, each 1–200 characters');
      const items = await flags.evaluate({ id: subject, segments, optIn: keyList(c.req.query('optIn'), 'optIn'), optOut: keyList(c.req.query('optOut'), 'optOut') });
      return c.json({ subject, items });
    })
    .get('/flags/ledger', async (c) => {
      const format = c.req.query('format') ?? 'json';
      if (format !== 'json' && format !== 'md') throw new BadRequestError('format must be json or md');
      const key = c.req.query('key');
      if (key !== undefined) flagKey(key);
      const after = c.req.query('after');
      const limit = intParam(c.req.query('limit'), 'limit', 1000, 1, 10_000);
      const items = await flags.ledger({ ...(key ? { key } : {}), limit, ...(after !== undefined ? { after: intParam(after, 'after', 0, 0, Number.MAX_SAFE_INTEGER) } : {}) });
      if (format === 'md') {
        c.header('content-type', 'text/markdown; charset=utf-8');
        return c.body(ledgerMarkdown(items, key ? `Ledger of flag ${key}` : 'Feature flag ledger'));
      }
      // More may follow: `next` is the `after` of the next page.
      return c.json(items.length === limit ? { items, next: String(items[items.length - 1]!.seq) } : { items });
    })
    .get('/flags/report', async (c) => {
      const day = c.req.query('day');
      if (day !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new BadRequestError('day must be YYYY-MM-DD (UTC)');
      return c.json(await flags.dailyReport(day));
    })
    .get('/flags', async (c) => c.json({ items: await flags.list() }))
    .post('/flags', async (c) => {
      const body = await readJson(c, CreateFlag);
      return c.json(await flags.create(body, c.var.principal), 201);
    })
    .get('/flags/:key', async (c) => c.json(await flags.get(flagKey(c.req.param('key')))))
    .patch('/flags/:key', async (c) => {
      const key = flagKey(c.req.param('key'));
      const { expectedVersion, justification, description, owner, audience, dependencies, profile, defaultProfile } = await readJson(c, EditFlag);
      const edit = { expectedVersion, justification, ...(description !== undefined ? { description } : {}), ...(owner !== undefined ? { owner } : {}), ...(audience ? { audience } : {}), ...(dependencies ? { dependencies } : {}), ...(profile ? { profile } : {}), ...(defaultProfile ? { defaultProfile } : {}) };
      return c.json(await flags.edit(key, edit, c.var.principal));
    })
    .put('/flags/:key/stage', async (c) => {
      const key = flagKey(c.req.param('key'));
      const body = await readJson(c, StageChange);
      return c.json(await flags.setStage(key, body, c.var.principal));
    })
    .post('/flags/:key/approvals', async (c) => {
      const key = flagKey(c.req.param('key'));
      const body = await readJson(c, Approval);
      return c.json(await flags.approve(key, body, c.var.principal));
    })
    .post('/flags/:key/runs', async (c) => {
      const key = flagKey(c.req.param('key'));
      const body = await readJson(c, Run);
      const out = await flags.recordRun(key, body, c.var.principal);
      return c.json(out, out.duplicate ? 200 : 201);
    })
    .post('/flags/:key/kill', async (c) => {
      const key = flagKey(c.req.param('key'));
      const body = await readJson(c, Kill);
      return c.json(await flags.kill(key, body, c.var.principal));
    });
}
