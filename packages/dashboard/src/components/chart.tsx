/**
 * A time chart drawn by uPlot (small, fast, canvas; well kept): minutes on the x axis, one line
 * per series. The chart is made once per mount and given new data with setData; it follows its
 * container's width. A table of the same numbers sits beside it for screen readers (the canvas
 * says nothing to them): `summary` tells what the chart shows.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  values: Array<number | null>;
  /** Drawn as bars (counts per minute) rather than a line; bar series stand side by side. */
  bars?: boolean;
  dash?: number[];
}

export interface ChartProps {
  title: string;
  /** Each point's time, ms since the epoch. */
  times: number[];
  series: ChartSeries[];
  /** The y axis's unit, after the value (`s`, `tasks`). */
  unit: string;
  height?: number;
}

/** Bars for series `i` of `n` bar series: each gets its share of the minute, side by side. */
function barsPath(i: number, n: number): uPlot.Series.PathBuilder | undefined {
  const align = n === 1 ? 0 : i === 0 ? -1 : 1;
  return uPlot.paths.bars?.({ size: [n === 1 ? 0.7 : 0.4, 30], align: align as -1 | 0 | 1 });
}

function options(props: ChartProps, width: number): uPlot.Options {
  const barSeries = props.series.filter((s) => s.bars);
  return {
    width,
    height: props.height ?? 180,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, max ?? 1)] },
    },
    axes: [
      // Local time, 24 h, a label every 10 minutes or so.
      { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' }, space: 70, values: '{HH}:{mm}' },
      {
        stroke: 'currentColor',
        grid: { stroke: 'rgba(128,128,128,0.15)' },
        values: (_u, ticks) => ticks.map((v) => `${v} ${props.unit}`),
        size: 60,
      },
    ],
    series: [
      {},
      ...props.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        fill: s.bars ? `${s.color}88` : undefined,
        width: 2,
        dash: s.dash,
        spanGaps: false,
        points: { show: !s.bars, size: 4 },
        ...(s.bars ? { paths: barsPath(barSeries.indexOf(s), barSeries.length) } : {}),
      })),
    ],
  };
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [
    props.times.map((t) => t / 1000),
    ...props.series.map((s) => s.values),
  ];

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    plot.current = new uPlot(options(props, element.clientWidth || 600), data(), element);
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({ width: element.clientWidth, height: props.height ?? 180 });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Made once per mount: the series' shape does not change; the data does (below).
  }, [props.series.length]);

  useEffect(() => {
    plot.current?.setData(data());
  }, [props.times, props.series]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} role="img" aria-label={`${props.title}: chart of the last hour`} />
    </figure>
  );
}
