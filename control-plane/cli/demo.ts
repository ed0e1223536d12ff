import pino from 'pino';
import { httpCall } from '../demo/api';
import { DemoSimulator } from '../demo/simulator';
import { DEMO_TENANTS } from '../demo/story';
import { DEFAULT_URL } from './http-client';
import { CliInputError, guarded, one } from './committee';
import type { Command } from './main';

/** The node's clock, followed from `GET /api/v1/clock` (it may run fast in demo mode). */
async function nodeClock(call: ReturnType<typeof httpCall>, token: string) {
  const read = async () => {
    const res = await call('GET', '/api/v1/clock', undefined, token);
    if (res.status === 401 || res.status === 403) throw new CliInputError(`the node refused the token (${res.status}): pass an ADMIN token with --token or $TOLLGATE_TOKEN`);
    if (res.status !== 200) throw new CliInputError(`GET /api/v1/clock → ${res.status}: this node has no clock route (an older version?)`);
    return { nodeMs: Date.parse(res.body.now as string), realMs: Date.now(), speed: Number(res.body.speed) || 1 };
  };
  let at = await read();
  const timer = setInterval(() => void read().then((x) => (at = x), () => undefined), 2_000);
  timer.unref();
  // A second behind the node's estimated time: an event stamped ahead of the node's clock is refused.
  return { now: () => Math.floor(at.nodeMs + (Date.now() - at.realMs - 1_000) * at.speed), speed: () => at.speed, stop: () => clearInterval(timer) };
}

const demo: Command = {
  path: ['demo'],
  synopsis: 'demo [--url <url>] [--token <token>] [--seconds N] [--rate N]',
  summary: "play the demo's data plane against a running node (forecasts, delayed yields, the scripted story)",
  details: [
    `Posts learning events for the demo tenants (${DEMO_TENANTS.map((t) => t.id).join(', ')}) on the node's clock`,
    '(GET /api/v1/clock: accelerated on a demo node), carries out the scripted story (a candidate, a',
    'shadow deployment, a production rollback) and prints one JSON line per story beat.',
    'The tenants must exist: a node started with the demo on (npm start) seeds them, and its own',
    'simulator already plays them; use this against such a node restarted with TOLLGATE_DEMO=0',
    '(its data kept), or to add traffic. The token must be ADMIN (the demo-admin token of',
    '<data dir>/demo-credentials.json). Runs until Ctrl-C, or for --seconds.',
  ].join('\n'),
  options: [
    { name: 'url', value: '<url>', help: `the node (default $TOLLGATE_URL or ${DEFAULT_URL})` },
    { name: 'token', value: '<token>', help: 'ADMIN bearer token (default $TOLLGATE_TOKEN)' },
    { name: 'seconds', value: '<N>', help: 'stop after N real seconds (default: until Ctrl-C)' },
    { name: 'rate', value: '<N>', help: 'forecasts per simulated hour and tenant (default 30)' },
  ],
  run: (args, io) =>
    guarded(io, async () => {
      if (args.positionals.length) throw new CliInputError(`demo takes no arguments (got ${args.positionals.join(' ')})`);
      const url = one(args, 'url') ?? process.env.TOLLGATE_URL ?? DEFAULT_URL;
      const token = one(args, 'token') ?? process.env.TOLLGATE_TOKEN;
      if (!token) throw new CliInputError('missing --token (or $TOLLGATE_TOKEN): an ADMIN token of the node');
      const seconds = one(args, 'seconds');
      if (seconds !== undefined && !/^\d+(\.\d+)?$/.test(seconds)) throw new CliInputError('--seconds must be a positive number');
      const rate = one(args, 'rate');
      if (rate !== undefined && !(/^\d+$/.test(rate) && Number(rate) >= 1 && Number(rate) <= 10_000)) throw new CliInputError('--rate must be a whole number from 1 to 10000');
      const call = httpCall(url);
      let clock: Awaited<ReturnType<typeof nodeClock>>;
      try {
        clock = await nodeClock(call, token);
      } catch (err) {
        if (err instanceof CliInputError) throw err;
        throw new CliInputError(`cannot reach ${url}: ${(err as Error).message}`);
      }
      const log = pino({ level: 'info', base: { service: 'tollgate-demo' } }, { write: (line: string) => io.stdout(line) });
      const simulator = new DemoSimulator({ call, tokens: { manager: token, admin: token }, now: clock.now, log, ...(rate ? { ratePerHour: Number(rate) } : {}) });
      try {
        await simulator.attach();
      } catch (err) {
        clock.stop();
        throw new CliInputError((err as Error).message);
      }
      io.stderr(`demo: playing ${DEMO_TENANTS.length} tenants on ${url} (node time ${new Date(clock.now()).toISOString()}, ${clock.speed()}×)\n`);
      simulator.start();
      await new Promise<void>((resolve) => {
        const done = () => {
          process.off('SIGINT', done);
          process.off('SIGTERM', done);
          resolve();
        };
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
        if (seconds !== undefined) setTimeout(done, Number(seconds) * 1_000);
      });
      await simulator.stop();
      clock.stop();
      io.stderr(`demo: stopped after posting ${simulator.posted} learning events\n`);
      return 0;
    }),
};

export const DEMO_COMMANDS: readonly Command[] = [demo];
