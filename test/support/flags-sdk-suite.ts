/**
 * The OpenFeature provider against a real control plane over a real socket:
 * snapshot and evaluation, the kill switch reaching the SDK within 1 s,
 * stale/duplicate updates ignored, offline fallback with the provider events
 * OpenFeature defines, and recovery. On real services the SDK listens to one
 * node and the kill goes through another (the change crosses NATS).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { OpenFeature, ProviderEvents, ProviderStatus, type EventDetails } from '@openfeature/server-sdk';
import pino from 'pino';
import { Server as IoServer } from 'socket.io';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TollgateFlagsProvider } from 'tollgate/openfeature';
import { encodeJson } from '../../control-plane/actor-host/protocol';
import { flagsChangedSubject } from '../../control-plane/flags/flag-service';
import { attachFlagsNamespace } from '../../control-plane/flags/live-namespace';
import { flagBody } from './flags';
import { BOOTSTRAP_TOKEN, client, startTestSystem } from './system';

type Sys = Awaited<ReturnType<typeof startTestSystem>>;

interface Live {
  http: HttpServer;
  io: IoServer;
  port: number;
  close(): Promise<void>;
}

/** The node's HTTP server with the live channel at /live and the /flags namespace, on 127.0.0.1:port (0 = any). */
async function serveLive(sys: Sys, prefix: string, port = 0): Promise<Live> {
  const http = createServer(getRequestListener(sys.app.fetch));
  const io = new IoServer(http, { path: '/live' });
  const ns = attachFlagsNamespace(io, { flags: sys.flags, authenticate: (t) => sys.identity.authenticate(t), bus: sys.bus, prefix, log: pino({ level: 'silent' }), recheckMs: 200 });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    http,
    io,
    port: (http.address() as AddressInfo).port,
    close: async () => {
      ns.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections?.();
    },
  };
}

interface Ctx {
  api: Sys;
  liveNode: Sys;
  extra: Sys | null;
  prefix: string;
  live: Live;
  provider: TollgateFlagsProvider;
  domain: string;
  events: Array<{ type: string; at: number; details?: EventDetails }>;
  cleanup(): Promise<void>;
}

function waitFor<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 5_000): Promise<T> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = check();
      if (v) return resolve(v);
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out: ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

function changedKeys(details: EventDetails | undefined): string[] {
  return (details as { flagsChanged?: string[] } | undefined)?.flagsChanged ?? [];
}

export function sdkSuite(label: string, setup: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>, twoNodes: boolean) {
  const test = suite<Ctx>(`OpenFeature provider over the live channel (${label})`);

  test.before(async (ctx) => {
    const s = await setup();
    ctx.cleanup = s.cleanup;
    ctx.prefix = s.env.TOLLGATE_SUBJECT_PREFIX ?? 'tg';
    ctx.api = await startTestSystem(twoNodes ? { ...s.env, TOLLGATE_NODE_ID: 'flags-api' } : s.env);
    ctx.extra = twoNodes ? await startTestSystem({ ...s.env, TOLLGATE_NODE_ID: 'flags-live' }) : null;
    ctx.liveNode = ctx.extra ?? ctx.api;
    const admin = client(ctx.api.app, BOOTSTRAP_TOKEN);
    assert.is((await admin('POST', '/api/v1/flags', flagBody('new-ranker'))).status, 201);
    assert.is((await admin('POST', '/api/v1/flags', flagBody('ranker-ui', { dependencies: ['new-ranker'] }))).status, 201);
    ctx.live = await serveLive(ctx.liveNode, ctx.prefix);
    ctx.domain = `tollgate-${label}`;
    ctx.events = [];
  });

  test.after(async (ctx) => {
    await OpenFeature.clearProviders().catch(() => undefined);
    await ctx.live?.close();
    await ctx.extra?.dispose();
    await ctx.api?.dispose();
    await ctx.cleanup?.();
  });

  test('a refused token fails initialisation with the reason', async (ctx) => {
    const bad = new TollgateFlagsProvider({ url: `http://127.0.0.1:${ctx.live.port}`, token: 'not-a-real-token-000000', initTimeoutMs: 3_000 });
    let error: Error | null = null;
    try {
      await OpenFeature.setProviderAndWait(`${ctx.domain}-bad`, bad);
    } catch (err) {
      error = err as Error;
    }
    assert.ok(error, 'initialisation must fail');
    assert.match(String(error!.message), /refused the token: UNAUTHENTICATED/);
    assert.is(OpenFeature.getClient(`${ctx.domain}-bad`).providerStatus, ProviderStatus.ERROR);
    await bad.onClose();
  });

  test('snapshot on connect; evaluations in process with reasons', async (ctx) => {
    ctx.provider = new TollgateFlagsProvider({ url: `http://127.0.0.1:${ctx.live.port}`, token: BOOTSTRAP_TOKEN, reconnectionDelayMs: 100 });
    for (const type of [ProviderEvents.Ready, ProviderEvents.ConfigurationChanged, ProviderEvents.Stale, ProviderEvents.Error]) {
      OpenFeature.getClient(ctx.domain).addHandler(type, (details) => ctx.events.push({ type, at: Date.now(), details }));
    }
    await OpenFeature.setProviderAndWait(ctx.domain, ctx.provider);
    const of = OpenFeature.getClient(ctx.domain);
    assert.is(of.providerStatus, ProviderStatus.READY);
    const ana = { targetingKey: 'ana' };
    const d = await of.getBooleanDetails('new-ranker', false, ana);
    assert.is(d.value, true);
    assert.is(d.reason, 'TARGETING_MATCH');
    assert.is(d.flagMetadata.tollgateReason, 'USER_LIST');
    assert.is(await of.getBooleanValue('new-ranker', true, { targetingKey: 'zed' }), false);
    assert.is(await of.getBooleanValue('new-ranker', false, { targetingKey: 'zed', segments: ['ops'] }), false, 'segments start at stage 1');
    assert.is(await of.getStringValue('new-ranker', 'x', ana), 'aggressive');
    assert.equal(await of.getObjectValue('new-ranker', {}, ana), { depth: 3, tags: true });
    assert.equal(await of.getObjectValue('new-ranker', {}, { targetingKey: 'zed' }), { depth: 1, tags: false }, 'off → the default profile');
    const missing = await of.getBooleanDetails('ghost', true, ana);
    assert.is(missing.value, true);
    assert.is(missing.errorCode, 'FLAG_NOT_FOUND');
    const noKey = await of.getBooleanDetails('new-ranker', false, {});
    assert.is(noKey.errorCode, 'TARGETING_KEY_MISSING');
    assert.is((await of.getNumberDetails('new-ranker', 7, ana)).errorCode, 'TYPE_MISMATCH');
  });

  test('an edit (PATCH) of the audience and profile reaches the connected SDK: who gets the flag and what it returns change', async (ctx) => {
    const of = OpenFeature.getClient(ctx.domain);
    const admin = client(ctx.api.app, BOOTSTRAP_TOKEN);
    assert.is(await of.getBooleanValue('new-ranker', false, { targetingKey: 'zed' }), false);
    assert.is(await of.getBooleanValue('new-ranker', false, { targetingKey: 'dev-1' }), true);
    const version = ctx.provider.flags().find((f) => f.key === 'new-ranker')!.version;
    const before = ctx.events.length;
    const res = await admin('PATCH', '/api/v1/flags/new-ranker', {
      expectedVersion: version,
      justification: 'zed joins the internal testers; dev-1 left',
      audience: { users: ['ana', 'zed'] },
      profile: { name: 'aggressive', params: { depth: 4, tags: true }, targetLatencyMs: 100 },
    });
    assert.is(res.status, 200, res.text);
    assert.is(res.body.version, version + 1);
    await waitFor(() => ctx.events.slice(before).find((e) => e.type === ProviderEvents.ConfigurationChanged && changedKeys(e.details).includes('new-ranker')), 'ConfigurationChanged after the edit', 5_000);
    assert.is(ctx.provider.flags().find((f) => f.key === 'new-ranker')!.version, version + 1);
    const zed = await of.getBooleanDetails('new-ranker', false, { targetingKey: 'zed' });
    assert.equal([zed.value, zed.flagMetadata.tollgateReason], [true, 'USER_LIST'], 'the provider sees the new audience');
    assert.is(await of.getBooleanValue('new-ranker', true, { targetingKey: 'dev-1' }), false, 'and no longer the removed user');
    assert.equal(await of.getObjectValue('new-ranker', {}, { targetingKey: 'ana' }), { depth: 4, tags: true }, 'the edited profile');
  });

  test('the kill switch reaches the connected SDK within 1 s', async (ctx) => {
    const of = OpenFeature.getClient(ctx.domain);
    const admin = client(ctx.api.app, BOOTSTRAP_TOKEN);
    const before = ctx.events.length;
    const t0 = Date.now();
    const res = await admin('POST', '/api/v1/flags/new-ranker/kill', { reason: 'bad tags' });
    const answeredAt = Date.now();
    assert.is(res.status, 200, res.text);
    const changed = await waitFor(() => ctx.events.slice(before).find((e) => e.type === ProviderEvents.ConfigurationChanged && changedKeys(e.details).includes('new-ranker')), 'ConfigurationChanged for new-ranker', 5_000);
    const elapsed = changed.at - t0;
    assert.ok(elapsed < 1_000, `the kill reached the SDK after ${elapsed} ms (the HTTP call itself answered after ${answeredAt - t0} ms)`);
    const d = await of.getBooleanDetails('new-ranker', true, { targetingKey: 'ana' });
    assert.is(d.value, false);
    assert.is(d.reason, 'DISABLED');
    assert.is(d.flagMetadata.tollgateReason, 'KILLED');
    assert.is((await of.getBooleanDetails('ranker-ui', true, { targetingKey: 'ana' })).flagMetadata.tollgateReason, 'DEPENDENCY');
    assert.is(await of.getStringValue('new-ranker', 'x', { targetingKey: 'ana' }), 'baseline', 'profile reset to the default');
  });

  test('stale and duplicate updates are ignored (per-flag versions)', async (ctx) => {
    const current = ctx.provider.flags().find((f) => f.key === 'new-ranker')!;
    const before = ctx.events.length;
    const old = { ...current, killed: false, version: current.version - 1 };
    ctx.liveNode.bus.publish(flagsChangedSubject(ctx.prefix), encodeJson({ key: old.key, version: old.version, flag: old }));
    ctx.liveNode.bus.publish(flagsChangedSubject(ctx.prefix), encodeJson({ key: current.key, version: current.version, flag: { ...current, killed: false } }));
    await new Promise((r) => setTimeout(r, 300));
    assert.is(ctx.events.slice(before).filter((e) => e.type === ProviderEvents.ConfigurationChanged).length, 0);
    assert.is(ctx.provider.evaluate('new-ranker', { id: 'ana' })!.reason, 'KILLED');
  });

  test('offline: the control plane goes away → Stale, last known values served; back → Ready and caught up', async (ctx) => {
    const of = OpenFeature.getClient(ctx.domain);
    const before = ctx.events.length;
    const port = ctx.live.port;
    await ctx.live.close();
    await waitFor(() => ctx.events.slice(before).find((e) => e.type === ProviderEvents.Stale), 'Stale event', 10_000).catch((err: Error) => {
      throw new Error(`${err.message}; connected=${ctx.provider.connected} stale=${ctx.provider.stale} events=${JSON.stringify(ctx.events.map((e) => e.type))}`);
    });
    assert.is(of.providerStatus, ProviderStatus.STALE);
    const d = await of.getBooleanDetails('new-ranker', true, { targetingKey: 'ana' });
    assert.is(d.value, false, 'the last known value (killed), not the default');
    assert.is(d.reason, 'STALE');
    assert.equal(await of.getObjectValue('ranker-ui', {}, { targetingKey: 'ana' }), { depth: 1, tags: false });
    // A change while the SDK is away arrives with the snapshot on reconnection.
    const restored = await client(ctx.api.app, BOOTSTRAP_TOKEN)('PUT', '/api/v1/flags/new-ranker/stage', { stage: 0, justification: 'tags fixed' });
    assert.is(restored.status, 200, restored.text);
    ctx.live = await serveLive(ctx.liveNode, ctx.prefix, port);
    // socket.io's backoff has grown to its 5 s cap while the server was away; under a loaded CI machine allow a few rounds.
    await waitFor(() => ctx.events.slice(before).find((e) => e.type === ProviderEvents.Ready), 'Ready after reconnection', 25_000);
    await waitFor(() => ctx.events.slice(before).find((e) => e.type === ProviderEvents.ConfigurationChanged && changedKeys(e.details).includes('new-ranker')), 'caught up with the change', 10_000);
    assert.is(of.providerStatus, ProviderStatus.READY);
    const after = await of.getBooleanDetails('new-ranker', false, { targetingKey: 'ana' });
    assert.is(after.value, true);
    assert.is(after.flagMetadata.tollgateReason, 'USER_LIST');
  });

  test('started while the control plane is down: Error (bootstrap values served), then Ready when it comes up', async (ctx) => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const domain = `${ctx.domain}-late`;
    const bootstrap = ctx.provider.flags().map((f) => ({ ...f, version: 0 }));
    const late = new TollgateFlagsProvider({ url: `http://127.0.0.1:${port}`, token: BOOTSTRAP_TOKEN, initTimeoutMs: 300, reconnectionDelayMs: 100, bootstrap });
    const seen: string[] = [];
    for (const type of [ProviderEvents.Ready, ProviderEvents.Error, ProviderEvents.Stale]) OpenFeature.getClient(domain).addHandler(type, () => seen.push(type));
    let failed = false;
    try {
      await OpenFeature.setProviderAndWait(domain, late);
    } catch {
      failed = true;
    }
    assert.ok(failed, 'no snapshot in time: initialisation fails');
    const of = OpenFeature.getClient(domain);
    assert.is(of.providerStatus, ProviderStatus.ERROR);
    assert.is(await of.getBooleanValue('new-ranker', false, { targetingKey: 'ana' }), true, 'the bootstrap values are served meanwhile');
    const second = await serveLive(ctx.liveNode, ctx.prefix, port);
    try {
      await waitFor(() => seen.includes(ProviderEvents.Ready), 'Ready once the control plane is up', 10_000);
      assert.is(of.providerStatus, ProviderStatus.READY);
      assert.ok(late.flags().every((f) => f.version > 0), 'the snapshot replaced the bootstrap');
    } finally {
      await late.onClose();
      await second.close();
    }
  });

  test('a read-only token works; revoking it cuts the SDK off (Error event)', async (ctx) => {
    const admin = client(ctx.api.app, BOOTSTRAP_TOKEN);
    const user = (await admin('POST', '/api/v1/users', { name: 'reader', role: 'AGRONOMIST' })).body;
    const domain = `${ctx.domain}-reader`;
    const reader = new TollgateFlagsProvider({ url: `http://127.0.0.1:${ctx.live.port}`, token: user.token, reconnectionDelayMs: 100 });
    const seen: string[] = [];
    OpenFeature.getClient(domain).addHandler(ProviderEvents.Error, () => seen.push('error'));
    await OpenFeature.setProviderAndWait(domain, reader);
    assert.is(await OpenFeature.getClient(domain).getBooleanValue('new-ranker', false, { targetingKey: 'ana' }), true);
    const revoked = await admin('DELETE', `/api/v1/users/reader/tokens/${user.tokenId}`);
    assert.is(revoked.status, 200, revoked.text);
    try {
      await waitFor(() => seen.includes('error'), 'Error after the token was revoked', 10_000);
      assert.is(OpenFeature.getClient(domain).providerStatus, ProviderStatus.ERROR);
      assert.is(reader.connected, false);
    } finally {
      await reader.onClose();
    }
  });

  return test;
}
