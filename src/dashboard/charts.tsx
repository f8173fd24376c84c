// Time-series charts drawn by uPlot: a sparkline, a metric chart with its rules' bands, and instances against the target.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Band } from './bands.js';

export type Series = (number | null)[];

interface ChartProps {
  /** The `data-chart` hook: the metric's name, or `instances`. */
  name: string;
  /** Seconds since the epoch, ascending. */
  times: number[];
  series: { label: string; values: Series; color: string; dash?: number[]; stepped?: boolean }[];
  bands?: Band[];
  height?: number;
  /** The id of the newest item drawn (a sample or a decision), published on the element for tests and scripts. */
  lastId?: string;
}

const BAND_FILL = 'rgba(46, 160, 67, 0.13)';
const BAND_LINE = 'rgba(46, 160, 67, 0.7)';

/** Highest value a band reaches, so the y scale always shows it. */
function bandTop(bands: readonly Band[]): number {
  return Math.max(0, ...bands.map((band) => band.upper ?? band.lower ?? 0));
}

/** Fills each band behind the lines, with dashed edges (a band open above runs to the top). */
function drawBands(bands: readonly Band[]) {
  return (u: uPlot) => {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    for (const band of bands) {
      const y0 = band.lower === null ? top + height : u.valToPos(band.lower, 'y', true);
      const y1 = band.upper === null ? top : u.valToPos(band.upper, 'y', true);
      ctx.fillStyle = BAND_FILL;
      ctx.fillRect(left, Math.min(y0, y1), width, Math.abs(y0 - y1));
      ctx.strokeStyle = BAND_LINE;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1;
      for (const [bound, y] of [
        [band.lower, y0],
        [band.upper, y1],
      ] as const) {
        if (bound === null) continue;
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
      }
    }
    ctx.restore();
  };
}

/** One chart; the uPlot instance is made once and fed new data as it comes. */
export function Chart(props: ChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const bands = props.bands ?? [];
  const bandKey = JSON.stringify(bands);
  const seriesKey = props.series.map((s) => s.label).join('|');
  const data = [props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData;

  useEffect(() => {
    const element = holder.current!;
    const width = Math.max(element.clientWidth, 200);
    const options: uPlot.Options = {
      width,
      height: props.height ?? 180,
      legend: { show: true },
      scales: {
        x: { time: true },
        y: { range: (_u, min, max) => [0, Math.max(max ?? 0, bandTop(bands), min ?? 0) * 1.1 || 1] },
      },
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash,
          spanGaps: true,
          points: { show: false },
          ...(s.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
        })),
      ],
      axes: [{}, { size: 50 }],
      hooks: { drawClear: [drawBands(bands)] },
    };
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 200), height: props.height ?? 180 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series or bands change; data goes through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bandKey, seriesKey, props.height]);

  // Pages re-render every second (ages move); the canvas is redrawn only when the data did.
  const dataKey = `${props.times.length}:${props.times.at(-1)}:${props.lastId}:${props.series.map((s) => s.values.at(-1)).join()}`;
  useEffect(() => {
    plot.current?.setData(data);
  }, [dataKey, bandKey, seriesKey]); // eslint-disable-line react-hooks/exhaustive-deps

  // The newest value of each series (gaps skipped), published on the element for tests and scripts.
  const last = props.series.map((s) => s.values.findLast((v) => v !== null) ?? null);
  return (
    <figure className="chart" data-chart={props.name} data-points={props.times.length} data-last={JSON.stringify(last)} data-last-id={props.lastId ?? ''}>
      <figcaption>
        {props.name}
        {bands.length > 0 && <span className="chart-bands"> · {bands.map((band) => band.rule).join(', ')}</span>}
      </figcaption>
      <div ref={holder} className="chart-plot" />
    </figure>
  );
}

/** A small line of recent values, no axes or legend, for the overview. */
export function Sparkline(props: { times: number[]; values: Series; label: string }) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = [props.times, props.values] as uPlot.AlignedData;

  useEffect(() => {
    const chart = new uPlot(
      {
        width: 140,
        height: 32,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, (max ?? 0) * 1.1 || 1] } },
        axes: [{ show: false }, { show: false }],
        series: [{}, { stroke: '#1f6feb', fill: 'rgba(31, 111, 235, 0.12)', width: 1.5, spanGaps: true, points: { show: false } }],
      },
      data,
      holder.current!,
    );
    plot.current = chart;
    return () => {
      chart.destroy();
      plot.current = null;
    };
  }, []);

  const dataKey = `${props.times.length}:${props.times.at(-1)}:${props.values.at(-1)}`;
  useEffect(() => {
    plot.current?.setData(data);
  }, [dataKey]); // eslint-disable-line react-hooks/exhaustive-deps

  return <div ref={holder} className="sparkline" title={props.label} aria-label={props.label} />;
}
