import { createResource, createSignal, For, onCleanup, Show } from 'solid-js';
import { api, currentToken, describeError, download, roleAtLeast } from '../api';
import { connectFlags, flagsLive, onFlagChange } from '../flags-store';
import { live } from '../live-store';
import { href } from '../router';
import { ActionForm } from './ActionForm';
import { Outcome } from './Outcome';
import { stageText } from './Flags';

interface Profile { name: string; params: Record<string, unknown>; targetLatencyMs?: number }
/** `passed` and `threshold` are null when the gate does not apply (a profile without a latency target). */
interface Gate { id: string; group: string; description: string; value: number | null; op: string; threshold: number | null; unit: string; passed: boolean | null; samples: number }
interface CheckItem { id: string; label: string; done: boolean; detail: string }
interface LedgerEntry { id: string; seq: number; decision: string; stageFrom: number | null; stageTo: number | null; approver: string; reason: string | null; strategyHash: string; restorePoint: string | null; at: string }
interface Flag {
  key: string;
  description: string;
  owner: string;
  stage: number;
  killed: boolean;
  killReason: string | null;
  audience: { users: string[]; segments: string[]; percentage: number };
  audienceWarning: string | null;
  dependencies: string[];
  profile: Profile;
  defaultProfile: Profile;
  version: number;
  stageEnteredAt: string;
  lastIncidentAt: string | null;
  nextStage: { stage: number; name: string; gates: Gate[]; checklist: CheckItem[]; go: boolean } | null;
  runs: Array<{ runId: string; at: string; stage: number; metrics: Record<string, unknown> }>;
  ledger: LedgerEntry[];
}

const num = (v: number | null) => (v === null || !Number.isFinite(v) ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 4 : 2));
const OPS: Record<string, string> = { '>=': '≥', '<=': '≤', '>': '>', '<': '<', '==': '=' };
const profileText = (p: Profile) => `${p.name} ${JSON.stringify(p.params)}${p.targetLatencyMs ? `, target ${p.targetLatencyMs} ms` : ''}`;

/** One flag: audience, profiles, dependencies, the next stage's gates and Go/No-Go checklist, actions by role, the ledger. */
export function FlagDetail(props: { flagKey: string }) {
  const token = currentToken();
  if (token) connectFlags(token);
  const [flag, { refetch }] = createResource(() => props.flagKey, (key) => api<Flag>('GET', `/api/v1/flags/${encodeURIComponent(key)}`));
  // A change made anywhere (kill, promotion) arrives on the `/flags` feed: fetch the detail again.
  const off = onFlagChange((c) => {
    if (c.key === props.flagKey && c.version > (flag.latest?.version ?? 0)) void refetch();
  });
  // Runs reported by applications do not change the flag's version; look again now and then.
  const poll = setInterval(() => void refetch(), 10_000);
  onCleanup(() => (off(), clearInterval(poll)));
  const f = () => flag.latest;
  const who = () => live.who();
  const isOwner = () => who()?.name === f()?.owner;
  const canKill = () => !f()?.killed && (roleAtLeast(who()?.role, 'ADMIN') || isOwner());
  const killedLive = () => flagsLive.flags[props.flagKey]?.killed ?? f()?.killed;
  return (
    <section aria-labelledby="flag-h" class="flag-detail">
      <p>
        <a href={href('flags')}>← All flags</a>
      </p>
      <h1 id="flag-h">Flag {props.flagKey}</h1>
      <Show when={flag.error}>
        <p role="alert" class="problem">
          {describeError(flag.error)}
        </p>
      </Show>
      <Show when={f()}>
        {(fl) => (
          <>
            <p>{fl().description}</p>
            <Show when={killedLive()}>
              <p role="status" class="problem" data-testid="flag-killed">
                KILLED{fl().killReason ? `: ${fl().killReason}` : ''} — off for everyone, profile back to {fl().defaultProfile.name}.
              </p>
            </Show>
            <dl class="facts">
              <dt>Stage</dt>
              <dd data-testid="detail-flag-stage">{stageText(fl().stage)}</dd>
              <dt>Since</dt>
              <dd>{fl().stageEnteredAt}</dd>
              <dt>Owner</dt>
              <dd>{fl().owner}</dd>
              <dt>Version</dt>
              <dd data-testid="detail-flag-version">{fl().version}</dd>
              <dt>Audience</dt>
              <dd>
                users: {fl().audience.users.join(', ') || 'none'}; segments: {fl().audience.segments.join(', ') || 'none'}; {fl().audience.percentage} % at Default-on
                <Show when={fl().audienceWarning}> ({fl().audienceWarning})</Show>
              </dd>
              <dt>Profile</dt>
              <dd>{profileText(fl().profile)}</dd>
              <dt>Default profile</dt>
              <dd>{profileText(fl().defaultProfile)}</dd>
              <dt>Depends on</dt>
              <dd>
                <Show when={fl().dependencies.length} fallback="nothing">
                  <For each={fl().dependencies}>{(d, i) => <>{i() ? ', ' : ''}<a href={href('flag', d)}>{d}</a></>}</For>
                </Show>
              </dd>
              <dt>Last incident</dt>
              <dd>{fl().lastIncidentAt ?? 'none'}</dd>
            </dl>
            <button type="button" onClick={() => void refetch()}>
              Refresh
            </button>
            <Show when={fl().nextStage} fallback={<p>At Full: no further stage.</p>}>
              {(next) => (
                <>
                  <h2>
                    Gates for {stageText(next().stage)}{' '}
                    <span data-testid="go" class={next().go ? 'go' : 'nogo'}>
                      {next().go ? 'GO' : 'NO-GO'}
                    </span>
                  </h2>
                  <p class="muted">Each from the average of the last 3 runs at this stage.</p>
                  <table aria-label="Gates">
                    <thead>
                      <tr>
                        <th scope="col">Gate</th>
                        <th scope="col">Measured</th>
                        <th scope="col">Needs</th>
                        <th scope="col">Runs</th>
                        <th scope="col">Result</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={next().gates}>
                        {(g) => (
                          <tr data-gate={g.id} class={g.passed === null ? 'na' : g.passed ? 'pass' : 'fail'}>
                            <th scope="row" title={g.description}>
                              {g.id}
                              <div class="muted">{g.description}</div>
                            </th>
                            <td data-testid="gate-value">{num(g.value)} {g.unit}</td>
                            <td data-testid="gate-needs">
                              {g.threshold === null ? 'no target' : `${OPS[g.op] ?? g.op} ${num(g.threshold)} ${g.unit}`}
                            </td>
                            <td>{g.samples}</td>
                            <td data-testid="gate-result">{g.passed === null ? 'not applicable' : g.passed ? 'pass' : 'FAIL'}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                  <h2>Go/No-Go checklist</h2>
                  <ul class="checklist" aria-label="Go/No-Go checklist">
                    <For each={next().checklist}>
                      {(c) => (
                        <li data-check={c.id}>
                          <span aria-hidden="true">{c.done ? '✔' : '✘'}</span> <span class="sr-only">{c.done ? 'done:' : 'open:'}</span> {c.label} — <span class="muted">{c.detail}</span>
                        </li>
                      )}
                    </For>
                  </ul>
                  <div class="actions" data-testid="flag-actions">
                    <Show when={roleAtLeast(who()?.role, 'MANAGER') && !fl().killed}>
                      <ActionForm
                        label={`Promote to ${stageText(next().stage)}`}
                        field="Justification"
                        run={(justification) => api('PUT', `/api/v1/flags/${fl().key}/stage`, { stage: next().stage, justification, ...(notes() ? { releaseNotes: notes() } : {}) }).then(() => setNotes(''))}
                        done={`Promoted to ${stageText(next().stage)}`}
                        after={() => void refetch()}
                      >
                        <NotesField />
                      </ActionForm>
                    </Show>
                    <Show when={isOwner() && !fl().killed}>
                      <ActionForm
                        label={`Approve ${stageText(next().stage)} as owner`}
                        field="Justification"
                        run={(justification) => api('POST', `/api/v1/flags/${fl().key}/approvals`, { stage: next().stage, justification, ...(notes() ? { releaseNotes: notes() } : {}) }).then(() => setNotes(''))}
                        done="Owner approval recorded"
                        after={() => void refetch()}
                      >
                        <NotesField />
                      </ActionForm>
                    </Show>
                  </div>
                </>
              )}
            </Show>
            <div class="actions">
              <Show when={roleAtLeast(who()?.role, 'MANAGER') && !fl().killed && fl().stage > 0}>
                <ActionForm label={`Roll back to ${stageText(fl().stage - 1)}`} field="Justification" run={(justification) => api('PUT', `/api/v1/flags/${fl().key}/stage`, { stage: fl().stage - 1, justification })} after={() => void refetch()} />
              </Show>
              <Show when={roleAtLeast(who()?.role, 'MANAGER') && fl().killed}>
                <ActionForm label={`Restore at ${stageText(fl().stage)}`} field="Justification" run={(justification) => api('PUT', `/api/v1/flags/${fl().key}/stage`, { stage: fl().stage, justification })} after={() => void refetch()} />
              </Show>
              <Show when={canKill()}>
                <KillSwitch flagKey={fl().key} after={() => void refetch()} />
              </Show>
            </div>
            <h2>Ledger</h2>
            <div class="actions">
              <ExportButton flagKey={fl().key} format="md" label="Export ledger (Markdown)" />
              <ExportButton flagKey={fl().key} format="json" label="Export ledger (JSON)" />
            </div>
            <table aria-label="Ledger">
              <thead>
                <tr>
                  <th scope="col">Decision id</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Approver</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Restore point</th>
                  <th scope="col">At</th>
                </tr>
              </thead>
              <tbody>
                <For each={fl().ledger}>
                  {(e) => (
                    <tr data-ledger={e.id}>
                      <th scope="row">{e.id}</th>
                      <td data-testid="ledger-decision">{e.decision}</td>
                      <td>
                        {e.stageFrom ?? '—'} → {e.stageTo ?? '—'}
                      </td>
                      <td>{e.approver}</td>
                      <td>{e.reason ?? ''}</td>
                      <td>{e.restorePoint ?? ''}</td>
                      <td>{e.at}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
            <h2>Recent runs</h2>
            <table aria-label="Runs">
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Pass rate</th>
                  <th scope="col">Avg latency</th>
                  <th scope="col">p95</th>
                  <th scope="col">Errors</th>
                  <th scope="col">At</th>
                </tr>
              </thead>
              <tbody>
                <For each={fl().runs} fallback={<tr><td colSpan={7}>No runs reported yet (POST /api/v1/flags/{fl().key}/runs).</td></tr>}>
                  {(r) => (
                    <tr data-run={r.runId}>
                      <th scope="row">{r.runId}</th>
                      <td>{r.stage}</td>
                      <td>{String(r.metrics.passRate ?? '—')}</td>
                      <td>{String(r.metrics.avgLatencyMs ?? '—')} ms</td>
                      <td>{String(r.metrics.p95LatencyMs ?? '—')} ms</td>
                      <td>{String(r.metrics.errorRate ?? '—')}</td>
                      <td>{r.at}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </>
        )}
      </Show>
    </section>
  );
}

// Release notes go with a promotion or an owner approval (one field per open form; the last typed wins).
const [notes, setNotes] = createSignal('');
function NotesField() {
  const id = `notes-${Math.random().toString(36).slice(2, 8)}`;
  return (
    <>
      <label for={id}>Release notes (optional; the checklist needs them once per stage)</label>
      <textarea id={id} value={notes()} onInput={(e) => setNotes(e.currentTarget.value)} />
    </>
  );
}

/** The kill switch: a confirmation dialog asking for the reason; says what happened or why not. */
function KillSwitch(props: { flagKey: string; after: () => void }) {
  const [open, setOpen] = createSignal(false);
  const [reason, setReason] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);
  const confirm = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!reason().trim()) return setError('Give a reason: it goes into the ledger, the audit log and the alert.');
    setBusy(true);
    try {
      await api('POST', `/api/v1/flags/${props.flagKey}/kill`, { reason: reason().trim() });
      setOpen(false);
      setReason('');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
      props.after();
    }
  };
  return (
    <div class="action">
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Kill switch
      </button>
      <Show when={open()}>
        <div role="dialog" aria-modal="true" aria-labelledby="kill-h" class="dialog" onKeyDown={(e) => e.key === 'Escape' && (setOpen(false), setError(null))}>
          <form onSubmit={confirm}>
            <h2 id="kill-h">Turn {props.flagKey} off everywhere?</h2>
            <p>Every SDK gets it within a second; the profile goes back to its default and the flag is re-pinned to its last green ledger entry.</p>
            <label for="kill-reason">Reason for the kill</label>
            <textarea id="kill-reason" ref={(el) => queueMicrotask(() => el.focus())} aria-required="true" value={reason()} onInput={(e) => setReason(e.currentTarget.value)} />
            <Outcome error={error()} />
            <div class="actions">
              <button type="submit" class="danger" disabled={busy()}>
                Kill {props.flagKey} now
              </button>
              <button type="button" onClick={() => (setOpen(false), setError(null))}>
                Cancel
              </button>
            </div>
          </form>
        </div>
      </Show>
    </div>
  );
}

function ExportButton(props: { flagKey: string; format: 'md' | 'json'; label: string }) {
  const [error, setError] = createSignal<string | null>(null);
  return (
    <div>
      <button
        type="button"
        onClick={() => {
          setError(null);
          download(`/api/v1/flags/ledger?format=${props.format}&key=${encodeURIComponent(props.flagKey)}`, `ledger-${props.flagKey}.${props.format}`).catch((err) => setError(describeError(err)));
        }}
      >
        {props.label}
      </button>
      <Outcome error={error()} />
    </div>
  );
}
