/**
 * The Go/No-Go checklist of a flag for its next stage, and the decision
 * whether a stage change may happen. Pure.
 */
import { CLEAN_HOURS, GATE_RUNS, describeFailures, failingGates, notApplicableGates, type GateResult } from './gates';
import { stageName, type FlagRun, type FlagStage } from './model';

export interface ChecklistItem {
  id: 'tests_passed' | 'gates_met' | 'clean_48h' | 'release_notes' | 'owner_approval';
  label: string;
  done: boolean;
  detail: string;
}

export interface ChecklistInput {
  targetStage: FlagStage;
  owner: string;
  runs: readonly FlagRun[];
  gates: readonly GateResult[];
  releaseNotes: string | null;
  /** Who approved as the owner for the target stage (null: nobody yet). */
  ownerApproval: { by: string; at: string } | null;
  /** The person asking to promote now, when there is one (an owner promoting approves by doing it). */
  promoter?: string;
}

export function checklist(input: ChecklistInput): ChecklistItem[] {
  const last = input.runs.slice(-GATE_RUNS);
  const failedTests = last.filter((r) => !r.metrics.testsPassed).map((r) => r.runId);
  const failing = failingGates(input.gates).filter((g) => g.id !== 'incidents.clean48h');
  const notApplicable = notApplicableGates(input.gates);
  const naNote = notApplicable.length ? ` (not applicable: ${notApplicable.join(', ')}, the profile has no latency target)` : '';
  const clean = input.gates.find((g) => g.id === 'incidents.clean48h');
  const ownerApproved = input.ownerApproval !== null || input.promoter === input.owner;
  return [
    {
      id: 'tests_passed',
      label: `tests passed in the last ${GATE_RUNS} runs`,
      done: last.length >= GATE_RUNS && failedTests.length === 0,
      detail: last.length < GATE_RUNS ? `${last.length} of ${GATE_RUNS} runs reported` : failedTests.length ? `tests failed in run(s) ${failedTests.join(', ')}` : 'all passed',
    },
    { id: 'gates_met', label: 'quality, performance, stability and operations gates met', done: failing.length === 0, detail: failing.length ? describeFailures(failing) + naNote : `every gate passes${naNote}` },
    { id: 'clean_48h', label: `${CLEAN_HOURS} h without an incident`, done: clean?.passed ?? false, detail: clean?.value === null || clean?.value === undefined ? 'no incident recorded' : `${clean.value} h since the last incident` },
    { id: 'release_notes', label: `release notes for ${stageName(input.targetStage)} ready`, done: !!input.releaseNotes?.trim(), detail: input.releaseNotes?.trim() ? 'written' : 'missing: send releaseNotes with the approval or the stage change' },
    {
      id: 'owner_approval',
      label: `owner (${input.owner}) approved ${stageName(input.targetStage)}`,
      done: ownerApproved,
      detail: input.ownerApproval ? `approved by ${input.ownerApproval.by} at ${input.ownerApproval.at}` : ownerApproved ? 'the owner is promoting' : `waiting for ${input.owner} (POST /api/v1/flags/:key/approvals)`,
    },
  ];
}

export type StageRefusal =
  | { code: 'ILLEGAL_TRANSITION'; message: string }
  | { code: 'GATE_FAILED'; message: string; gates: GateResult[] }
  | { code: 'CHECKLIST_INCOMPLETE'; message: string; items: ChecklistItem[] }
  | { code: 'DEPENDENCY_NOT_READY'; message: string; dependencies: Array<{ key: string; stage: number | null; killed: boolean }> };

/**
 * Whether a flag may go from `from` to `to`. Forward: one stage at a time,
 * every gate, every checklist item, and each dependency already at least at
 * `to` ("a flag switches to default last", after what it depends on).
 * Backward (a manual rollback): always allowed. A killed flag comes back only
 * to its stage or lower.
 */
export function decideStageChange(input: {
  key: string;
  from: FlagStage;
  to: number;
  killed: boolean;
  gates: readonly GateResult[];
  items: readonly ChecklistItem[];
  dependencies: ReadonlyArray<{ key: string; stage: number | null; killed: boolean }>;
}): { ok: true; kind: 'promotion' | 'rollback' | 'restore' } | { ok: false; refusal: StageRefusal } {
  const { from, to, key } = input;
  if (!Number.isInteger(to) || to < 0 || to > 4) return { ok: false, refusal: { code: 'ILLEGAL_TRANSITION', message: `stage must be 0–4, not ${to}` } };
  if (input.killed) {
    if (to > from) return { ok: false, refusal: { code: 'ILLEGAL_TRANSITION', message: `flag ${key} is killed; restore it at stage ${from} or lower first, then promote` } };
    return { ok: true, kind: 'restore' };
  }
  if (to === from) return { ok: false, refusal: { code: 'ILLEGAL_TRANSITION', message: `flag ${key} is already at stage ${from} (${stageName(from)})` } };
  if (to < from) return { ok: true, kind: 'rollback' };
  if (to > from + 1) return { ok: false, refusal: { code: 'ILLEGAL_TRANSITION', message: `flag ${key} moves one stage at a time: ${from} (${stageName(from)}) → ${from + 1} (${stageName(from + 1)}), not → ${to}` } };
  const failing = failingGates(input.gates);
  if (failing.length) return { ok: false, refusal: { code: 'GATE_FAILED', message: `gate(s) failed for ${key} → ${stageName(to)}: ${describeFailures(failing)}`, gates: failing } };
  const notReady = input.dependencies.filter((d) => d.stage === null || d.killed || d.stage < to);
  if (notReady.length) {
    return {
      ok: false,
      refusal: { code: 'DEPENDENCY_NOT_READY', message: `flag ${key} switches after its dependencies: ${notReady.map((d) => (d.stage === null ? `${d.key} does not exist` : d.killed ? `${d.key} is killed` : `${d.key} is at stage ${d.stage}`)).join('; ')} (each must be at stage ${to} or later first)`, dependencies: notReady },
    };
  }
  const open = input.items.filter((i) => !i.done);
  if (open.length) return { ok: false, refusal: { code: 'CHECKLIST_INCOMPLETE', message: `Go/No-Go for ${key} → ${stageName(to)} is No-Go: ${open.map((i) => `${i.label} (${i.detail})`).join('; ')}`, items: open } };
  return { ok: true, kind: 'promotion' };
}
