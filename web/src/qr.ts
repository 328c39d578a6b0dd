import { encode } from 'uqr';
import { s } from './dom.js';

/**
 * A QR code as inline SVG built from DOM nodes (no markup string, nothing fetched): error correction M, the
 * 4-module quiet zone scanners expect, dark modules as one path of horizontal runs, black on white whatever
 * the page's colours.
 */
export function qrSvg(text: string, label: string): SVGElement {
  const qr = encode(text, { ecc: 'M', border: 4 });
  let d = '';
  qr.data.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue;
      let run = 1;
      while (row[x + run]) run++;
      d += `M${x} ${y}h${run}v1h-${run}z`;
      x += run - 1;
    }
  });
  return s(
    'svg',
    {
      class: 'qr',
      viewBox: `0 0 ${qr.size} ${qr.size}`,
      role: 'img',
      'aria-label': label,
      'shape-rendering': 'crispEdges',
      'data-modules': qr.size,
    },
    s('rect', { width: qr.size, height: qr.size, fill: '#fff' }),
    s('path', { d, fill: '#000' }),
  );
}
