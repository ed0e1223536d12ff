import { createResource, onCleanup } from 'solid-js';
import { live, latencyPercentile } from '../live-store';
import { Tile } from './Executive';

/** Pipeline health: live update latency measured by this console, feed state, readiness, actor mailboxes, dependencies, retrains. */
export function Engineer() {
  const [ready, { refetch }] = createResource(async () => {
    const res = await fetch('/readyz');
    return { status: res.status, body: await res.text() };
  });
  const [metrics, { refetch: refetchMetrics }] = createResource(async () => {
    const text = await (await fetch('/metrics')).text();
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    // One family's samples (exact name, with or without labels), summed.
    const series = (name: string) => lines.filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    const pick = (name: string) => series(name).map((l) => Number(l.split(' ').pop())).reduce((a, b) => a + b, 0);
    const label = (line: string, key: string) => new RegExp(`${key}="([^"]*)"`).exec(line)?.[1] ?? '?';
    const dependencies = series('tollgate_dependency_up').map((l) => `${label(l, 'dependency')} ${Number(l.split(' ').pop()) === 1 ? 'up' : 'DOWN'}`);
    const retrains = series('tollgate_retrain_runs_total').map((l) => `${label(l, 'outcome')} ${l.split(' ').pop()}`);
    return {
      crashes: pick('tollgate_actor_crashes_total'),
      deadLetters: pick('tollgate_actor_dead_letters_total'),
      resident: pick('tollgate_actors_resident'),
      queued: pick('tollgate_actor_mailbox_messages'),
      deepest: pick('tollgate_actor_mailbox_max_depth'),
      dependencies: dependencies.length ? dependencies.join(', ') : 'no probes',
      retrains: retrains.length ? retrains.join(', ') : 'none yet',
      breaching: pick('tollgate_drift_breaching_tenants'),
    };
  });
  const t = setInterval(() => (void refetch(), void refetchMetrics()), 5000);
  onCleanup(() => clearInterval(t));
  const ms = (v: number | null) => (v === null ? 'no updates yet' : `${Math.round(v)} ms`);
  return (
    <section aria-labelledby="eng-h">
      <h1 id="eng-h">Engineer</h1>
      <div class="tiles">
        <figure class="tile">
          <figcaption>Live update latency p95 (event → screen)</figcaption>
          <strong data-testid="latency-p95">{ms(latencyPercentile(95))}</strong>
        </figure>
        <Tile label="Latency p50" value={ms(latencyPercentile(50))} />
        <Tile label="Samples" value={live.latencies().length} />
        <Tile label="Live feed" value={live.status()} />
        <Tile label="Last seq" value={live.lastSeq()} testid="last-seq" />
        <Tile label="Deltas received" value={live.deltaCount()} testid="delta-count" />
        <Tile label="Last (re)subscription" value={live.lastSubscribe() ? (live.lastSubscribe()!.mode === 'resume' ? `resumed, ${live.lastSubscribe()!.missed} missed update(s) replayed` : 'full snapshot') : '…'} testid="last-subscribe" />
        <Tile label="Readiness" value={ready.latest ? (ready.latest.status === 200 ? 'ready' : `not ready: ${ready.latest.body.slice(0, 120)}`) : '…'} />
        <Tile label="Actor crashes" value={metrics.latest?.crashes ?? '…'} />
        <Tile label="Dead letters" value={metrics.latest?.deadLetters ?? '…'} />
        <Tile label="Actors in memory" value={metrics.latest?.resident ?? '…'} />
        <Tile label="Queued actor messages (all mailboxes)" value={metrics.latest?.queued ?? '…'} testid="mailbox-queued" />
        <Tile label="Deepest mailbox" value={metrics.latest?.deepest ?? '…'} />
        <Tile label="Dependencies (node health)" value={metrics.latest?.dependencies ?? '…'} testid="dependencies" />
        <Tile label="Retrain runs by outcome" value={metrics.latest?.retrains ?? '…'} />
        <Tile label="Tenants in a drift breach" value={metrics.latest?.breaching ?? '…'} />
      </div>
    </section>
  );
}
