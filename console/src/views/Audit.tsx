import { createMemo, createResource, createSignal, For, Show } from 'solid-js';
import { api, describeError, download } from '../api';

interface Entry { seq: number; at: string; actor: string; action: string; subject: string; payload: unknown; hash: string }
interface Verify { ok: boolean; length: number; head: string; firstBadIndex?: number; reason?: string }

/** The audit log: search, chain verification, export. */
export function Audit() {
  const [after, setAfter] = createSignal(0);
  const [entries] = createResource(after, (a) => api<{ entries: Entry[] }>('GET', `/api/v1/audit?after=${a}&limit=500`));
  const [verify, { refetch: reverify }] = createResource(() => api<Verify>('GET', '/api/v1/audit/verify'));
  const [query, setQuery] = createSignal('');
  const [problem, setProblem] = createSignal<string | null>(null);
  const shown = createMemo(() => {
    const q = query().trim().toLowerCase();
    const all = entries.latest?.entries ?? [];
    return (q ? all.filter((e) => `${e.actor} ${e.action} ${e.subject} ${JSON.stringify(e.payload)}`.toLowerCase().includes(q)) : all).slice().reverse();
  });
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h">Audit</h1>
      <p role="status" data-testid="chain-status">
        <Show when={verify.latest} fallback={verify.error ? describeError(verify.error) : 'Verifying the chain…'}>
          {(v) => (v().ok ? `Chain verified: ${v().length} entries, head ${v().head.slice(0, 16)}…` : `Chain BROKEN at index ${v().firstBadIndex}: ${v().reason}`)}
        </Show>
      </p>
      <div class="filters">
        <button type="button" onClick={() => void reverify()}>
          Verify again
        </button>
        <button type="button" onClick={() => download('/api/v1/audit/export', 'tollgate-audit.jsonl').catch((e) => setProblem(describeError(e)))}>
          Export (JSON Lines)
        </button>
        <label>
          Search <input type="search" value={query()} onInput={(e) => setQuery(e.currentTarget.value)} placeholder="actor, action, subject, payload" />
        </label>
        <label>
          From seq <input type="number" min="0" value={after()} onChange={(e) => setAfter(Math.max(0, Number(e.currentTarget.value) || 0))} />
        </label>
      </div>
      <Show when={problem() ?? (entries.error ? describeError(entries.error) : null)}>
        {(p) => (
          <p role="alert" class="problem">
            {p()}
          </p>
        )}
      </Show>
      <table>
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">At</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Subject</th>
          </tr>
        </thead>
        <tbody>
          <For each={shown()}>
            {(e) => (
              <tr>
                <td>{e.seq}</td>
                <td>{e.at}</td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>{e.subject}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </section>
  );
}
