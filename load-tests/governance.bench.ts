/**
 * Governance unlock benchmark (issue #8): `npm run bench:governance`.
 *
 * Informational only: it never exits non-zero because of a time (it exits 1
 * when a check that must pass fails: a correctness bug). No services; one
 * process. Three operations, timed one call at a time, interleaved in
 * BENCH_ROUNDS rounds after a warm-up, so that a noisy neighbour slows all
 * of them together:
 *
 *   raw verify    one Ed25519 verify (node:crypto, OpenSSL, the key object
 *                 prepared) of a 200-byte message: the baseline. The server
 *                 verifies with node:crypto too; `raw verify (noble)` is the
 *                 pure-JS @noble/curves verify, for comparison.
 *   submission    checkSubmission(): what the server computes for one share
 *                 submission: base64url decode, share digest, canonical
 *                 binding, the member's Ed25519 signature, the commitment.
 *   threshold     reconstructAndSign(): Shamir combine of 5 shares, derive the
 *                 public key and compare, sign the canonical action, zero.
 *
 * Figures: p50 and p99 per call in µs, and each p50 as a multiple of the raw
 * verify p50 measured in the same run. The database work around a submission
 * (row lock, insert, audit record) is not included: see the registry section of RESULTS.md for
 * what a write transaction costs on this machine.
 * Knobs: BENCH_ROUNDS (20), BENCH_PER_ROUND (100).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { runCeremony } from '../control-plane/governance/ceremony';
import { buildSubmission } from '../control-plane/governance/member';
import { checkSubmission, reconstructAndSign } from '../control-plane/governance/submission';
import { actionHash, generateIdentity, openShare, toBase64Url } from '../control-plane/governance/share-crypto';
import { describeMachine, envInt, loadAverage } from './support/load';
import { markdownTable, percentile } from './support/stats';

const ROUNDS = envInt('BENCH_ROUNDS', 20, 2, 1000);
const PER_ROUND = envInt('BENCH_PER_ROUND', 100, 1, 10_000);

async function main(): Promise<void> {
  const ids = Array.from({ length: 7 }, (_, i) => ({ id: `m${i + 1}`, ...generateIdentity() }));
  const { committee, shares } = await runCeremony(
    ids.map((m) => ({ id: m.id, name: m.id, publicKey: toBase64Url(m.publicKey) })),
    5,
  );
  const unlock = { id: '6f1c2a8e-0000-4000-8000-000000000001', action: 'tenant.forensic-lock.lift', params: { tenantId: 'orchard' }, nonce: toBase64Url(randomBytes(16)) };
  const request = { ...unlock, actionHash: actionHash(unlock.action, unlock.params) };
  const submissions = shares.map((f, i) => buildSubmission(f, ids[i]!.secretKey, request));
  const plain = shares.map((f, i) => openShare(f, ids[i]!.secretKey));
  const raw = { msg: randomBytes(200), key: ids[0]!.secretKey };
  const rawSig = ed25519.sign(raw.msg, raw.key);
  const rawPub = ed25519.getPublicKey(raw.key);
  const rawKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(rawPub) }, format: 'jwk' });

  const ops: Record<string, () => Promise<void> | void> = {
    'raw verify': () => {
      if (!nodeVerify(null, raw.msg, rawKey, rawSig)) throw new Error('raw verify failed');
    },
    'raw verify (noble)': () => {
      if (!ed25519.verify(rawSig, raw.msg, rawPub)) throw new Error('raw verify failed');
    },
    submission: () => {
      const i = Math.floor(Math.random() * 7);
      const r = checkSubmission(submissions[i]!, request, { ...committee.members[i]!, memberId: committee.members[i]!.id, shareIndex: committee.members[i]!.index }, committee.salt);
      if (r.refusal !== null) throw new Error(`submission refused: ${r.refusal}`);
    },
    threshold: async () => {
      const five = plain.slice(0, 5).map((s) => s.slice()); // the service zeroes its vault after; copies here
      const sig = await reconstructAndSign(five, committee.publicKey, request);
      if (sig.length !== 86) throw new Error('bad signature');
    },
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
  for (let round = -2; round < ROUNDS; round++) {
    for (const [name, op] of Object.entries(ops)) {
      for (let i = 0; i < PER_ROUND; i++) {
        const t0 = performance.now();
        await op();
        const dt = performance.now() - t0;
        if (round >= 0) samples[name]!.push(dt * 1000);
      }
    }
  }
  const base = percentile(samples['raw verify']!.sort((a, b) => a - b), 0.5);
  const rows = Object.entries(samples).map(([name, xs]) => {
    xs.sort((a, b) => a - b);
    const p50 = percentile(xs, 0.5);
    return [name, String(xs.length), p50.toFixed(0), percentile(xs, 0.99).toFixed(0), (p50 / base).toFixed(2)];
  });
  console.log(['# bench:governance', '', ...describeMachine([['Rounds × calls', `${ROUNDS} × ${PER_ROUND} per operation`]]), ''].join('\n'));
  console.log(markdownTable(['operation', 'calls', 'p50 µs', 'p99 µs', 'p50 ÷ raw verify p50'], rows));
  console.log(`\nLoad average at end: ${loadAverage()}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
