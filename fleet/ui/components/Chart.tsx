// A small time-series chart (uPlot): a few hundred points, redrawn in place
// when new samples arrive, resized with its card.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { useI18n } from '../i18n/i18n.js';

export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

export function Chart(props: {
  title: string;
  times: number[];
  series: ChartSeries[];
  unit?: string;
  testid?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { lang } = useI18n();
  const shape = `${lang}|${props.series.map((s) => s.label).join('|')}`;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    // 24-hour clock in the page's language, not uPlot's US default.
    const locale = lang === 'vi' ? 'vi-VN' : 'en-GB';
    const hhmm = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hour12: false });
    const hhmmss = new Intl.DateTimeFormat(locale, {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
    });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 150,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        {
          stroke: '#5b6472',
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#e2e5ea' },
          font: '11px system-ui',
          // Ticks closer than a minute apart need seconds, or they all read the same.
          values: (_u, splits) => {
            const fmt = splits.length > 1 && splits[1]! - splits[0]! < 60 ? hhmmss : hhmm;
            return splits.map((v) => fmt.format(new Date(v * 1000)));
          },
        },
        {
          stroke: '#5b6472',
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#e2e5ea' },
          font: '11px system-ui',
          size: 44,
        },
      ],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: `${s.color}1f`,
          points: { show: false },
        })),
      ],
    };
    plot.current = new uPlot(opts, [props.times, ...props.series.map((s) => s.values)], el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 150 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.series.map((s) => s.values)]);
  }, [props.times, props.series]);

  return (
    <figure class="chart" data-testid={props.testid} data-points={props.times.length}>
      <figcaption>
        {props.title}
        {props.series.length > 1 &&
          props.series.map((s) => (
            <span key={s.label} class="legend">
              <span class="swatch" style={{ background: s.color }} />
              {s.label}
            </span>
          ))}
      </figcaption>
      <div ref={host} class="chart-host" />
    </figure>
  );
}
