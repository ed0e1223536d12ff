/** A tiny inline drift-score trend (SVG: cheap enough for a row of a 10,000-tenant list). */
export function Sparkline(props: { values: Array<number | null>; max?: number; label: string }) {
  const w = 70;
  const h = 18;
  const points = () => {
    const xs = props.values;
    const max = props.max ?? Math.max(0.3, ...xs.map((v) => v ?? 0));
    return xs.map((v, i) => `${xs.length === 1 ? w / 2 : (i / (xs.length - 1)) * w},${h - ((v ?? 0) / max) * h}`).join(' ');
  };
  return (
    <svg width={w} height={h} role="img" aria-label={props.label} class="spark">
      <polyline points={points()} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}
