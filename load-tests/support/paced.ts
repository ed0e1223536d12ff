import http from 'node:http';
import { percentile } from './stats';

export interface PacedFigures {
  sent: number;
  /** Answers by HTTP status. */
  statuses: Record<number, number>;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * An open-loop load at a fixed rate: request k is due at k / rate seconds,
 * and its latency counts from then (not from when a free socket sent it), so
 * a stall shows in every request it delayed (no coordinated omission). The
 * requests go out over `connections` keep-alive sockets.
 *
 * Why not autocannon's `overallRate` here: it sends each connection's quota
 * as fast as it can at the start of every second, then waits, and it
 * corrects for coordinated omission with an expected interval of
 * ceil(1 / rate) — 1 ms whatever the rate — so every answer slower than
 * 1 ms adds made-up samples: its p99 at 1,000 req/s swung from 4 to 11 ms
 * between runs of the same hello world, and from 14 to 49 ms for replays.
 */
export async function paced(url: string, o: { rate: number; seconds: number; connections: number; headers?: Record<string, string> }): Promise<PacedFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const total = Math.round(o.rate * o.seconds);
  const latencies = new Float64Array(total);
  const statuses: Record<number, number> = {};
  let errors = 0;
  let sent = 0;
  let answered = 0;
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const settled = new Uint8Array(total);
    const answer = (k: number, status: number | null) => {
      if (settled[k]) return; // an error after the answer began
      settled[k] = 1;
      latencies[k] = performance.now() - (t0 + (k * 1000) / o.rate);
      if (status === null) errors++;
      else statuses[status] = (statuses[status] ?? 0) + 1;
      if (++answered === total) done();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * o.rate) / 1000) + 1);
      for (; sent < due; sent++) {
        const k = sent;
        http
          .get(url, { agent, headers: o.headers }, (res) => {
            res.resume();
            res.on('end', () => answer(k, res.statusCode ?? 0));
          })
          .on('error', () => answer(k, null));
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const at = (q: number) => Math.round(percentile(sorted, q) * 10) / 10;
  return { sent: total, statuses, errors, p50: at(0.5), p99: at(0.99), max: at(1) };
}
