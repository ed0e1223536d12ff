import { createEffect, onCleanup } from 'solid-js';
import uPlot from 'uplot';

export interface DriftPoint {
  day: string;
  psi: number | null;
  kl: number | null;
  mae: number | null;
}

/** PSI / KL / relative MAE per day with the warn and critical thresholds (uPlot). */
export function DriftChart(props: { points: DriftPoint[]; warn: number; critical: number }) {
  let el!: HTMLDivElement;
  let plot: uPlot | null = null;
  createEffect(() => {
    const pts = props.points;
    plot?.destroy();
    const xs = pts.map((p) => Date.parse(`${p.day}T00:00:00Z`) / 1000);
    const data: uPlot.AlignedData = [xs, pts.map((p) => p.psi), pts.map((p) => p.kl), pts.map((p) => p.mae), xs.map(() => props.warn), xs.map(() => props.critical)];
    plot = new uPlot(
      {
        width: Math.min(760, el.clientWidth || 760),
        height: 220,
        series: [
          {},
          { label: 'PSI (max feature)', stroke: '#2563eb', width: 2 },
          { label: 'KL', stroke: '#7c3aed' },
          { label: 'MAE Δ', stroke: '#059669' },
          { label: 'warn', stroke: '#d97706', dash: [4, 4] },
          { label: 'critical', stroke: '#dc2626', dash: [6, 3] },
        ],
        axes: [{}, {}],
      },
      data,
      el,
    );
  });
  onCleanup(() => plot?.destroy());
  return <div ref={el} role="img" aria-label={`Drift per day: ${props.points.map((p) => `${p.day} PSI ${p.psi?.toFixed(3) ?? 'n/a'}`).join('; ') || 'no reports yet'}`} />;
}
