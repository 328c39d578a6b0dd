import { h, s } from './dom.js';

export interface Series {
  name: string;
  values: (number | null)[];
  cls: string;
}

const W = 320;
const H = 140;
const PAD = { l: 40, r: 8, t: 8, b: 22 };

/** A line chart as inline SVG (no library): one x per day, gaps where a value is null, with a text table. */
export function lineChart(
  title: string,
  dates: string[],
  series: Series[],
  fmt: (v: number) => string,
): HTMLElement {
  const all = series.flatMap((x) => x.values.filter((v): v is number => v !== null));
  const max = Math.max(1e-9, ...all);
  const x = (i: number) => PAD.l + (dates.length <= 1 ? 0 : (i * (W - PAD.l - PAD.r)) / (dates.length - 1));
  const y = (v: number) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / max);
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': `${title}: chart`,
    class: 'chart',
  });
  svg.append(
    s('line', { x1: PAD.l, y1: y(0), x2: W - PAD.r, y2: y(0), class: 'axis' }),
    s('line', { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: y(0), class: 'axis' }),
    s(
      'text',
      { x: PAD.l - 4, y: PAD.t + 8, class: 'tick', 'text-anchor': 'end' },
      document.createTextNode(fmt(max)),
    ),
    s(
      'text',
      { x: PAD.l - 4, y: y(0), class: 'tick', 'text-anchor': 'end' },
      document.createTextNode(fmt(0)),
    ),
  );
  if (dates.length) {
    svg.append(
      s('text', { x: PAD.l, y: H - 4, class: 'tick' }, document.createTextNode(dates[0]!.slice(5))),
      s(
        'text',
        { x: W - PAD.r, y: H - 4, class: 'tick', 'text-anchor': 'end' },
        document.createTextNode(dates.at(-1)!.slice(5)),
      ),
    );
  }
  for (const ser of series) {
    let d = '';
    let pen = false;
    ser.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
      svg.append(s('circle', { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2, class: `dot ${ser.cls}` }));
    });
    if (d) svg.append(s('path', { d, class: `line ${ser.cls}` }));
  }
  const legend = h(
    'ul',
    { class: 'legend' },
    ...series.map((ser) => {
      const last = [...ser.values].reverse().find((v) => v !== null);
      return h(
        'li',
        { class: ser.cls },
        `${ser.name}: ${last === undefined || last === null ? 'no data' : fmt(last)}`,
      );
    }),
  );
  const id = `chart-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h(
    'figure',
    { class: 'card chart-card', 'aria-labelledby': id },
    h('figcaption', { id }, title),
    svg,
    legend,
  );
}

/** A single value between 0 and 1 as a bar (the trust coefficient is an all-time figure). */
export function gauge(title: string, value: number | null): HTMLElement {
  const v = value ?? 0;
  const svg = s('svg', {
    viewBox: '0 0 320 28',
    role: 'img',
    'aria-label': `${title}: ${value === null ? 'no data' : v.toFixed(2)}`,
    class: 'chart gauge',
  });
  svg.append(
    s('rect', { x: 0, y: 4, width: 320, height: 20, class: 'track' }),
    s('rect', {
      x: 0,
      y: 4,
      width: (320 * Math.min(1, Math.max(0, v))).toFixed(1),
      height: 20,
      class: 'fill',
    }),
  );
  return h(
    'figure',
    { class: 'card chart-card' },
    h('figcaption', {}, `${title}: ${value === null ? 'no data' : v.toFixed(2)}`),
    svg,
  );
}
