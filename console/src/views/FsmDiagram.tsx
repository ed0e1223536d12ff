import { For } from 'solid-js';

/** The model-version lifecycle (actors/model-version/lifecycle.ts) as boxes; the current state highlighted. */
const MAIN = ['DRAFT', 'TRAINING', 'VALIDATED', 'SHADOW', 'CANARY', 'CHAMPION', 'DEPRECATED'];
const SIDE = ['FAILED', 'QUARANTINED', 'ROLLED_BACK'];
const BOX_W = 96;
const GAP = 18;

export function FsmDiagram(props: { state: string | null; visited: ReadonlySet<string> }) {
  const x = (i: number) => 4 + i * (BOX_W + GAP);
  const box = (name: string, i: number, y: number) => (
    <g class={`fsm-state${props.state === name ? ' current' : ''}${props.visited.has(name) ? ' visited' : ''}`} aria-current={props.state === name ? 'step' : undefined}>
      <rect x={x(i)} y={y} width={BOX_W} height={28} rx={6} />
      <text x={x(i) + BOX_W / 2} y={y + 18} text-anchor="middle">
        {name}
      </text>
    </g>
  );
  return (
    <svg viewBox={`0 0 ${x(MAIN.length)} 110`} class="fsm" role="img" aria-label={`Lifecycle; current state ${props.state ?? 'none'}`}>
      <For each={MAIN.slice(0, -1)}>{(_, i) => <line x1={x(i()) + BOX_W} y1={18} x2={x(i() + 1)} y2={18} class="edge" />}</For>
      <For each={MAIN}>{(s, i) => box(s, i(), 4)}</For>
      <For each={SIDE}>{(s, i) => box(s, i() + 2, 70)}</For>
    </svg>
  );
}
