/** A tiny horizontal bar chart as SVG text (no dependencies): one bar per label, the value printed beside it. */

export interface Bar {
  label: string;
  value: number;
  /** Optional reference line for this chart (e.g. a goal or a limit). */
}

export interface ChartOptions {
  title: string;
  unit: string;
  bars: Bar[];
  /** Vertical marker at this value, e.g. the goal, with its caption. */
  marker?: { value: number; label: string } | undefined;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fmt(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
}

export function barChart(opts: ChartOptions): string {
  const labelWidth = Math.min(360, 12 + 7 * Math.max(10, ...opts.bars.map((b) => b.label.length)));
  const plotWidth = 420;
  const valueWidth = 110;
  const rowHeight = 24;
  const top = 44;
  const width = labelWidth + plotWidth + valueWidth;
  const height = top + rowHeight * Math.max(1, opts.bars.length) + 30;
  const max = Math.max(1e-9, ...opts.bars.map((b) => b.value), opts.marker?.value ?? 0);
  const x = (v: number) => labelWidth + (v / max) * plotWidth;
  const rows = opts.bars
    .map((b, i) => {
      const y = top + i * rowHeight;
      const w = Math.max(1, x(b.value) - labelWidth);
      return [
        `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="#3b6ea8"/>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 16}">${esc(fmt(b.value))} ${esc(opts.unit)}</text>`,
      ].join('');
    })
    .join('\n');
  const marker = opts.marker
    ? `<line x1="${x(opts.marker.value).toFixed(1)}" y1="${top - 4}" x2="${x(opts.marker.value).toFixed(1)}" y2="${
        height - 22
      }" stroke="#c0392b" stroke-dasharray="4 3"/><text x="${x(opts.marker.value).toFixed(1)}" y="${height - 8}" text-anchor="middle" fill="#c0392b">${esc(
        opts.marker.label,
      )}</text>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="24" font-size="15" font-weight="bold">${esc(opts.title)}</text>
${rows}
${marker}
</svg>
`;
}
