import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jwkVerifier, NodeEd25519Signer } from '../adapters/ed25519-signer';
import { nobleCheck } from '../cli/audit-verify';
import type { Signer } from '../ports/signer';
import { canonicalJson, digestPayload, fromBase64Url, GENESIS_HASH, toBase64Url, type AuditEntry } from './format';
import { sealEntry, type AuditInput } from './seal';
import { verifyChain, type KnownHead, type SignatureCheck, type VerifyReport } from './verify';

// ------------------------------------------------------------------ fixtures

const signerA = NodeEd25519Signer.generate();
const signerB = NodeEd25519Signer.generate();
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function nodeCheckFor(...signers: Signer[]): SignatureCheck {
  const verifiers = new Map(signers.map((s) => [s.kid, jwkVerifier(s.publicKeyJwk)]));
  return (kid, message, signature) => {
    const v = verifiers.get(kid);
    return v ? v(message, signature) : 'unknown-key';
  };
}

function nobleCheckFor(...signers: Signer[]): SignatureCheck {
  return nobleCheck(new Map(signers.map((s) => [s.kid, fromBase64Url(s.publicKeyJwk.x)])));
}

/** Verifies with node:crypto and with @noble/curves and insists both agree. */
function verifyBoth(entries: readonly AuditEntry[], signers: Signer[], knownHead?: KnownHead): VerifyReport {
  const viaNode = verifyChain(entries, nodeCheckFor(...signers), knownHead);
  const viaNoble = verifyChain(entries, nobleCheckFor(...signers), knownHead);
  assert.equal(viaNoble, viaNode, 'noble and node:crypto verifiers disagree');
  return viaNode;
}

/** Seals `inputs` into a chain continuing after `prev`, then round-trips it through JSON like an export. */
function buildChain(inputs: readonly AuditInput[], signer: Signer, prev = { seq: 0, hash: GENESIS_HASH }, t0 = T0): AuditEntry[] {
  const out: AuditEntry[] = [];
  let last = prev;
  inputs.forEach((input, i) => {
    const entry = sealEntry(input, last, new Date(t0 + i * 1_000 + (i % 7)), signer);
    out.push(entry);
    last = entry;
  });
  return exported(out);
}

function exported(entries: readonly AuditEntry[]): AuditEntry[] {
  return entries.map((e) => JSON.parse(JSON.stringify(e)) as AuditEntry);
}

const FIXED_INPUTS: AuditInput[] = [
  { actor: 'user:alice', action: 'model.register', subject: 'model:fraud-v1', payload: { name: 'fraud', version: 1 } },
  { actor: 'user:bob', action: 'model.promote', subject: 'model:fraud-v1', payload: { from: 'staging', to: 'prod', nested: { a: [1, 2, { b: null }], c: true } } },
  { actor: 'user:zoë', action: 'canary.start', subject: 'rollout:42', payload: { note: 'Grüße, 世界 🌍', rtl: 'שלום', combining: 'e\u0301' } },
  { actor: 'system', action: 'canary.evaluate', subject: 'rollout:42', payload: { metrics: { p99: 12.5, errorRate: 0.0001, big: 9007199254740991, neg: -3e-7 } } },
  { actor: 'user:李', action: 'committee.vote', subject: 'proposal:7', payload: { vote: 'yes', reason: 'line\nbreak\ttab "quoted" \\ back\u2028sep' } },
  { actor: 'user:alice', action: 'token.issue', subject: 'token:x', payload: { scopes: ['read', 'write'], deep: { l1: { l2: { l3: { l4: ['😀', { k: 'v' }] } } } } } },
  { actor: 'user:bob', action: 'drift.compare', subject: 'model:fraud-v2', payload: {} },
  { actor: 'system', action: 'oracle.verify', subject: 'oracle:1', payload: { unordered: { z: 1, a: 2, m: [3, 2, 1] }, empty: '', emoji: '👩‍👩‍👧' } },
];

// Random payloads: nested objects and arrays, unicode graphemes, always one non-empty string leaf.
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 });
const key = fc.string({ unit: 'grapheme', maxLength: 6 });
const leaf = fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }), fc.dictionary(key, leaf, { maxKeys: 4, noNullPrototype: true }));
const payloadArb = fc
  .record({ note: text, nested: fc.dictionary(key, value, { maxKeys: 4, noNullPrototype: true }) })
  .map((p) => p as Record<string, unknown>);
const inputArb = fc.record({
  actor: fc.constantFrom('user:alice', 'user:zoë', 'system', 'user:李'),
  action: fc.constantFrom('model.register', 'model.promote', 'canary.start'),
  subject: text.map((s) => `model:${s}`),
  payload: payloadArb,
});
const inputsArb = (min: number) => fc.array(inputArb, { minLength: min, maxLength: 7 });

// ------------------------------------------------------------------ tampering

const FIELDS = ['payload', 'actor', 'action', 'subject', 'at', 'hash', 'prevHash', 'signature', 'kid', 'seq'] as const;
type Field = (typeof FIELDS)[number];
const ALPHABET = [...'0123456789abcdefABCDEF-_xyzé😀'];

/** Replaces one code point of `s` with a different one. */
function flipChar(s: string, pos: number, pick: number): string {
  const cps = Array.from(s);
  if (cps.length === 0) return ALPHABET[pick % ALPHABET.length]!;
  const p = pos % cps.length;
  let r = ALPHABET[pick % ALPHABET.length]!;
  if (r === cps[p]) r = ALPHABET[(pick + 1) % ALPHABET.length]!;
  cps[p] = r;
  return cps.join('');
}

/** Changes one character of one string leaf (or key) inside the payload. */
function tamperPayload(payload: unknown, pos: number, pick: number): unknown {
  const copy = structuredClone(payload);
  const slots: Array<{ get(): string; set(v: string): void }> = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => (typeof v === 'string' ? slots.push({ get: () => v, set: (s) => (node[i] = s) }) : walk(v)));
    } else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) {
        if (typeof v === 'string') slots.push({ get: () => v, set: (s) => (obj[k] = s) });
        else walk(v);
      }
    }
  };
  walk(copy);
  const slot = slots[pos % slots.length];
  if (!slot) throw new Error('payload has no string leaf to tamper with');
  slot.set(flipChar(slot.get(), Math.floor(pos / slots.length), pick));
  return copy;
}

function tamper(entry: AuditEntry, field: Field, pos: number, pick: number): AuditEntry {
  const out = structuredClone(entry);
  switch (field) {
    case 'payload':
      out.payload = tamperPayload(entry.payload, pos, pick);
      break;
    case 'signature': {
      const bytes = fromBase64Url(entry.signature);
      bytes[pos % bytes.length]! ^= 1 << (pick % 8);
      out.signature = toBase64Url(bytes);
      break;
    }
    case 'seq': {
      const delta = (pick % 5) + 1;
      out.seq = pos % 2 === 0 ? entry.seq + delta : entry.seq - delta;
      break;
    }
    default:
      out[field] = flipChar(entry[field], pos, pick);
  }
  return out;
}

/** The tampered value really differs from the original. */
function changed(before: AuditEntry, after: AuditEntry, field: Field): boolean {
  if (field === 'payload') return canonicalJson(before.payload) !== canonicalJson(after.payload);
  if (field === 'signature') return bytesToHex(fromBase64Url(before.signature)) !== bytesToHex(fromBase64Url(after.signature));
  return before[field] !== after[field];
}

// ------------------------------------------------------------------ tests

test('an intact chain verifies, with its length and head', () => {
  const entries = buildChain(FIXED_INPUTS, signerA);
  const report = verifyBoth(entries, [signerA]);
  assert.equal(report, { ok: true, length: FIXED_INPUTS.length, head: entries[entries.length - 1]!.hash });
  assert.is(entries[0]!.prevHash, GENESIS_HASH);
  for (let i = 1; i < entries.length; i++) assert.is(entries[i]!.prevHash, entries[i - 1]!.hash);
  // The head check passes for the current head and for any earlier one (the log grew).
  assert.ok(verifyBoth(entries, [signerA], { length: entries.length, hash: report.head }).ok);
  assert.ok(verifyBoth(entries, [signerA], { length: 3, hash: entries[2]!.hash }).ok);
  assert.ok(verifyBoth(entries, [signerA], { length: 3 }).ok);
});

test('random intact chains verify, and the payload digest survives the JSON export', () => {
  fc.assert(
    fc.property(inputsArb(1), (inputs) => {
      const entries = buildChain(inputs, signerA);
      entries.forEach((e, i) => assert.is(digestPayload(e.payload), digestPayload(inputs[i]!.payload)));
      const report = verifyBoth(entries, [signerA]);
      assert.equal(report, { ok: true, length: inputs.length, head: entries[entries.length - 1]!.hash });
    }),
    { numRuns: 60 },
  );
});

test('an empty log is ok with the genesis head', () => {
  assert.equal(verifyBoth([], [signerA]), { ok: true, length: 0, head: GENESIS_HASH });
  const truncated = verifyBoth([], [signerA], { length: 2 });
  assert.is(truncated.ok, false);
  assert.is(truncated.firstBadIndex, 0);
  assert.match(truncated.reason!, /^truncated/);
});

test('changing any field of any entry is caught at that entry', () => {
  fc.assert(
    fc.property(inputsArb(1), fc.nat(), fc.constantFrom(...FIELDS), fc.nat(), fc.nat(), (inputs, at, field, pos, pick) => {
      const entries = buildChain(inputs, signerA);
      const i = at % entries.length;
      const tampered = tamper(entries[i]!, field, pos, pick);
      assert.ok(changed(entries[i]!, tampered, field), `tamper of ${field} changed nothing`);
      const log = entries.map((e, j) => (j === i ? tampered : e));
      const report = verifyBoth(log, [signerA]);
      assert.is(report.ok, false, `${field} of entry ${i} changed and the log still verifies`);
      assert.is(report.firstBadIndex, i, `${field} of entry ${i}: ${report.reason}`);
      assert.is(report.length, entries.length);
      assert.is(report.head, i === 0 ? GENESIS_HASH : entries[i - 1]!.hash);
    }),
    { numRuns: 300 },
  );
});

test('each field tamper gives the expected reason', () => {
  const entries = buildChain(FIXED_INPUTS, signerA);
  const i = 4;
  const expect: Record<Field, RegExp> = {
    payload: /^payload digest mismatch/,
    actor: /^hash mismatch/,
    action: /^hash mismatch/,
    subject: /^hash mismatch/,
    at: /^hash mismatch/,
    hash: /^hash mismatch/,
    prevHash: /^prev hash mismatch/,
    signature: /^bad signature$/,
    kid: /unknown signing key/,
    seq: /^(gap|reorder|duplicate)/,
  };
  for (const field of FIELDS) {
    // pick 0 → '0', a lowercase hex digit: the hash stays well-formed but wrong.
    const log = entries.map((e, j) => (j === i ? tamper(e, field, 3, 0) : e));
    const report = verifyBoth(log, [signerA]);
    assert.is(report.firstBadIndex, i, field);
    assert.match(report.reason!, expect[field], `${field}: ${report.reason}`);
  }
});

test('a signature text that is not base64url, or another entry\'s signature, is refused', () => {
  const entries = buildChain(FIXED_INPUTS, signerA);
  const notB64 = entries.map((e, j) => (j === 2 ? { ...e, signature: e.signature.slice(0, 10) + '+' + e.signature.slice(11) } : e));
  const r1 = verifyBoth(notB64, [signerA]);
  assert.is(r1.firstBadIndex, 2);
  assert.match(r1.reason!, /not base64url/);
  const shortSig = entries.map((e, j) => (j === 2 ? { ...e, signature: e.signature.slice(0, 40) } : e));
  const r2 = verifyBoth(shortSig, [signerA]);
  assert.is(r2.firstBadIndex, 2);
  assert.match(r2.reason!, /^bad signature/);
  const borrowed = entries.map((e, j) => (j === 2 ? { ...e, signature: entries[3]!.signature } : e));
  const r3 = verifyBoth(borrowed, [signerA]);
  assert.is(r3.firstBadIndex, 2);
  assert.is(r3.reason, 'bad signature');
});

// The signature text is not covered by the hash: the last of the 86
// characters of a 64-byte signature carries 4 unused bits, so 16 texts could
// decode to the same bytes. fromBase64Url refuses all but the canonical one.
test('a non-canonical spelling of a valid signature is refused', () => {
  const entries = buildChain(FIXED_INPUTS, signerA);
  const sig = entries[1]!.signature;
  const lastChar = sig[sig.length - 1]!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const twin = alphabet[alphabet.indexOf(lastChar) ^ 1]!;
  const log = entries.map((e, j) => (j === 1 ? { ...e, signature: sig.slice(0, -1) + twin } : e));
  const report = verifyBoth(log, [signerA]);
  assert.is(report.firstBadIndex, 1);
});

test('deleting entry i is a gap at i', () => {
  fc.assert(
    fc.property(inputsArb(2), fc.nat(), (inputs, at) => {
      const entries = buildChain(inputs, signerA);
      const i = at % (entries.length - 1); // deleting the last entry needs a known head
      const log = entries.filter((_, j) => j !== i);
      const report = verifyBoth(log, [signerA]);
      assert.is(report.ok, false);
      assert.is(report.firstBadIndex, i);
      assert.match(report.reason!, /^gap/);
    }),
    { numRuns: 60 },
  );
});

test('swapping entries i and i+1 is a reorder at i', () => {
  fc.assert(
    fc.property(inputsArb(2), fc.nat(), (inputs, at) => {
      const entries = buildChain(inputs, signerA);
      const i = at % (entries.length - 1);
      const log = [...entries];
      [log[i], log[i + 1]] = [entries[i + 1]!, entries[i]!];
      const report = verifyBoth(log, [signerA]);
      assert.is(report.ok, false);
      assert.is(report.firstBadIndex, i);
      assert.match(report.reason!, /^reorder/);
    }),
    { numRuns: 60 },
  );
});

test('truncating the tail is caught against a known head', () => {
  fc.assert(
    fc.property(inputsArb(1), fc.nat(), fc.boolean(), (inputs, at, withHash) => {
      const entries = buildChain(inputs, signerA);
      const m = at % entries.length; // keep 0 … n-1 entries
      const log = entries.slice(0, m);
      const head = entries[entries.length - 1]!.hash;
      // Without a known head a truncated log is a valid shorter log.
      assert.ok(verifyBoth(log, [signerA]).ok);
      const report = verifyBoth(log, [signerA], withHash ? { length: entries.length, hash: head } : { length: entries.length });
      assert.is(report.ok, false);
      assert.is(report.firstBadIndex, m);
      assert.match(report.reason!, /^truncated/);
    }),
    { numRuns: 60 },
  );
});

test('rewriting the tail with another key is an unknown signing key', () => {
  fc.assert(
    fc.property(inputsArb(1), fc.nat(), (inputs, at) => {
      const entries = buildChain(inputs, signerA);
      const k = at % entries.length;
      const prev = k === 0 ? { seq: 0, hash: GENESIS_HASH } : entries[k - 1]!;
      const forged = inputs.slice(k).map((inp) => ({ ...inp, payload: { ...inp.payload, forged: true } }));
      const log = [...entries.slice(0, k), ...buildChain(forged, signerB, prev, T0 + 3_600_000)];
      const report = verifyBoth(log, [signerA]);
      assert.is(report.ok, false);
      assert.is(report.firstBadIndex, k);
      assert.match(report.reason!, /unknown signing key/);
      assert.ok(report.reason!.includes(signerB.kid));
      // Trusting both keys, the rewrite still differs from the known head.
      const head = entries[entries.length - 1]!.hash;
      assert.ok(verifyBoth(log, [signerA, signerB]).ok);
      const vsHead = verifyBoth(log, [signerA, signerB], { length: entries.length, hash: head });
      assert.is(vsHead.ok, false);
      assert.is(vsHead.firstBadIndex, entries.length - 1);
      assert.match(vsHead.reason!, /known head/);
    }),
    { numRuns: 40 },
  );
});

test('re-sealing a tampered entry with the same key breaks the next link', () => {
  fc.assert(
    fc.property(inputsArb(2), fc.nat(), (inputs, at) => {
      const entries = buildChain(inputs, signerA);
      const i = at % (entries.length - 1);
      const prev = i === 0 ? { seq: 0, hash: GENESIS_HASH } : entries[i - 1]!;
      const altered = { ...inputs[i]!, payload: { ...inputs[i]!.payload, amount: 1_000_000 } };
      const [resealed] = buildChain([altered], signerA, prev, Date.parse(entries[i]!.at));
      assert.is.not(resealed!.hash, entries[i]!.hash);
      const log = entries.map((e, j) => (j === i ? resealed! : e));
      const report = verifyBoth(log, [signerA]);
      assert.is(report.ok, false);
      assert.is(report.firstBadIndex, i + 1);
      assert.match(report.reason!, /^prev hash mismatch/);
      assert.is(report.head, resealed!.hash);
    }),
    { numRuns: 60 },
  );
});

test('a JSON line that is not an entry is a malformed entry', () => {
  const entries = buildChain(FIXED_INPUTS.slice(0, 3), signerA);
  for (const junk of [null, 42, 'text', [], { seq: 2 }]) {
    const log = [entries[0]!, junk as unknown as AuditEntry, entries[2]!];
    const report = verifyBoth(log, [signerA]);
    assert.is(report.firstBadIndex, 1, JSON.stringify(junk));
    assert.match(report.reason!, /^malformed entry/);
  }
});

// ------------------------------------------------------------------ noble vs node:crypto

function nodePublicKey(signer: NodeEd25519Signer) {
  return createPublicKey({ key: { ...signer.publicKeyJwk }, format: 'jwk' });
}

test('noble and node:crypto agree on the same keys and signatures', () => {
  const signers = [signerA, signerB, NodeEd25519Signer.generate()];
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 2),
      fc.uint8Array({ minLength: 0, maxLength: 96 }),
      fc.nat(),
      fc.nat(7),
      (which, message, where, bit) => {
        const signer = signers[which]!;
        const other = signers[(which + 1) % signers.length]!;
        const pub = fromBase64Url(signer.publicKeyJwk.x);
        const otherPub = fromBase64Url(other.publicKeyJwk.x);
        const sig = signer.sign(message);
        const agree = (s: Uint8Array, m: Uint8Array, pk: Uint8Array, nodeKey: ReturnType<typeof nodePublicKey>, expected: boolean) => {
          const viaNoble = ed25519.verify(s, m, pk, { zip215: false });
          const viaNode = nodeVerify(null, m, nodeKey, s);
          assert.is(viaNoble, viaNode, 'noble and node:crypto disagree');
          assert.is(viaNoble, expected);
        };
        agree(sig, message, pub, nodePublicKey(signer), true);
        const badSig = Uint8Array.from(sig);
        badSig[where % 64]! ^= 1 << bit;
        agree(badSig, message, pub, nodePublicKey(signer), false);
        if (message.length > 0) {
          const badMsg = Uint8Array.from(message);
          badMsg[where % message.length]! ^= 1 << bit;
          agree(sig, badMsg, pub, nodePublicKey(signer), false);
        }
        agree(sig, message, otherPub, nodePublicKey(other), false);
      },
    ),
    { numRuns: 200 },
  );
});

test('signatures made by noble verify under node:crypto, and the reverse', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), (secret, message) => {
      const pub = ed25519.getPublicKey(secret);
      const sig = ed25519.sign(message, secret);
      const jwk = { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(pub) } as const;
      assert.ok(jwkVerifier(jwk)(message, sig));
      assert.ok(nodeVerify(null, message, createPublicKey({ key: { ...jwk }, format: 'jwk' }), sig));
    }),
    { numRuns: 50 },
  );
  // node:crypto signs deterministically too (RFC 8032): both give the same bytes for the same key.
  const secret = hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const pub = ed25519.getPublicKey(secret);
  assert.is(bytesToHex(pub), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  const expected =
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
  assert.is(bytesToHex(ed25519.sign(new Uint8Array(0), secret)), expected);
  const verifyRfc = jwkVerifier({ kty: 'OKP', crv: 'Ed25519', x: toBase64Url(pub) });
  assert.ok(verifyRfc(new Uint8Array(0), hexToBytes(expected)));
  assert.ok(ed25519.verify(hexToBytes(expected), new Uint8Array(0), pub, { zip215: false }));
});

test('chain verification gives the same report through noble and node:crypto', () => {
  // verifyBoth asserts agreement; here on chains signed by two keys with one key missing.
  const first = buildChain(FIXED_INPUTS.slice(0, 4), signerA);
  const rest = buildChain(FIXED_INPUTS.slice(4), signerB, first[first.length - 1]!, T0 + 10_000);
  const log = [...first, ...rest];
  assert.ok(verifyBoth(log, [signerA, signerB]).ok);
  const missing = verifyBoth(log, [signerA]);
  assert.is(missing.firstBadIndex, 4);
  const badSig = log.map((e, j) => (j === 5 ? tamper(e, 'signature', 7, 3) : e));
  assert.is(verifyBoth(badSig, [signerA, signerB]).firstBadIndex, 5);
});

test.run();
