import { svg } from './dom.js';

/** One line of a chart. */
export interface ChartSeries {
  name: string;
  /** Picks the line's colour class (`series-N`), so a variant keeps its colour on every chart. */
  colour: number;
  x: readonly number[];
  y: readonly number[];
}

/** What a chart shows and how its axes read. */
export interface ChartSpec {
  title: string;
  series: readonly ChartSeries[];
  formatX(value: number): string;
  formatY(value: number): string;
  /** Fixed y range (shares: 0 to 1); otherwise from the data, starting at 0. */
  yRange?: [number, number];
  /** Draw points as steps (a share holds until the next record). */
  steps?: boolean;
}

const WIDTH = 560;
const HEIGHT = 260;
const MARGIN = { left: 56, right: 12, top: 12, bottom: 30 };
const TICKS = 5;
/** Colour classes the stylesheet defines. */
export const SERIES_COLOURS = 8;

/**
 * A line chart drawn as SVG: no library, no inline style (colours come from classes the
 * stylesheet defines, so the page runs under `style-src 'self'`). Labels are text nodes.
 */
export function lineChart(spec: ChartSpec): SVGElement {
  const xs = spec.series.flatMap((series) => series.x);
  const ys = spec.series.flatMap((series) => series.y);
  let [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  if (!(xMax > xMin)) [xMin, xMax] = [xMin - 1, xMin + 1];
  const [yMin, yMax] = spec.yRange ?? [0, Math.max(...ys, 0) * 1.05 || 1];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const py = (y: number) => MARGIN.top + plotHeight - ((y - yMin) / (yMax - yMin || 1)) * plotHeight;

  const grid: SVGElement[] = [];
  for (let i = 0; i < TICKS; i += 1) {
    const y = yMin + ((yMax - yMin) * i) / (TICKS - 1);
    const x = xMin + ((xMax - xMin) * i) / (TICKS - 1);
    grid.push(svg('line', { class: 'grid', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: py(y), y2: py(y) }));
    grid.push(svg('text', { class: 'tick', x: MARGIN.left - 6, y: py(y) + 4, 'text-anchor': 'end' }, [spec.formatY(y)]));
    grid.push(svg('text', { class: 'tick', x: px(x), y: HEIGHT - 10, 'text-anchor': i === 0 ? 'start' : i === TICKS - 1 ? 'end' : 'middle' }, [spec.formatX(x)]));
  }
  const lines = spec.series.map((series) => {
    const points: string[] = [];
    series.x.forEach((x, i) => {
      const y = series.y[i]!;
      if (spec.steps && i > 0) points.push(`${px(x).toFixed(1)},${py(series.y[i - 1]!).toFixed(1)}`);
      points.push(`${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    });
    return svg('polyline', { class: `line series-${series.colour % SERIES_COLOURS}`, points: points.join(' ') }, [svg('title', {}, [series.name])]);
  });
  return svg('svg', { class: 'chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': spec.title }, [
    svg('title', {}, [spec.title]),
    ...grid,
    svg('line', { class: 'axis', x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotHeight }),
    svg('line', { class: 'axis', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight }),
    ...lines,
  ]);
}
