import { el, svg } from "./dom.js";
import { EVENT_TYPE_GROUPS } from "./event-types.js";
import { localTime } from "./time-format.js";

/** `over_time` of `GET {base}/summary`: per group, events in equal buckets from `start`. */
export interface OverTime {
  readonly start: string;
  readonly bucket_ms: number;
  readonly buckets: number;
  readonly groups: Readonly<Record<string, readonly number[]>>;
}

const WIDTH = 640;
const HEIGHT = 230;
const PAD = { left: 56, right: 12, top: 12, bottom: 52 };

/** Events over time as stacked bars, one colour per type group, with axis titles and a legend. */
export function overTimeChart(data: OverTime): HTMLElement {
  const groups = Object.keys(EVENT_TYPE_GROUPS).filter((group) => data.groups[group] !== undefined);
  const totals = Array.from({ length: data.buckets }, (_, bucket) =>
    groups.reduce((sum, group) => sum + (data.groups[group]?.[bucket] ?? 0), 0),
  );
  const high = Math.max(1, ...totals);
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const barWidth = plotWidth / data.buckets;
  const y = (value: number) => PAD.top + plotHeight - (value * plotHeight) / high;
  const start = Date.parse(data.start);
  const end = new Date(start + data.bucket_ms * data.buckets).toISOString();
  const bars = totals.flatMap((_, bucket) => {
    let below = 0;
    return groups.flatMap((group) => {
      const count = data.groups[group]?.[bucket] ?? 0;
      if (count === 0) return [];
      const from = new Date(start + bucket * data.bucket_ms).toISOString();
      const rect = svg(
        "rect",
        {
          x: PAD.left + bucket * barWidth + 1,
          y: y(below + count),
          width: Math.max(barWidth - 2, 1),
          height: y(below) - y(below + count),
          class: `bar fill-${group}`,
          "data-group": group,
          "data-count": count,
        },
        svg("title", {}, `${group}: ${count} from ${localTime(from)}`),
      );
      below += count;
      return [rect];
    });
  });
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart over-time", role: "img", "aria-labelledby": "over-time-title" },
    svg("title", { id: "over-time-title" }, "Events over time by type group"),
    ...[high, Math.round(high / 2), 0].map((value) =>
      svg(
        "g",
        {},
        svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "grid" }),
        svg("text", { x: PAD.left - 6, y: y(value) + 4, class: "tick", "text-anchor": "end" }, String(value)),
      ),
    ),
    ...bars,
    svg("text", { x: PAD.left, y: HEIGHT - 30, class: "tick" }, localTime(data.start)),
    svg("text", { x: WIDTH - PAD.right, y: HEIGHT - 30, class: "tick", "text-anchor": "end" }, localTime(end)),
    svg(
      "text",
      { x: PAD.left + plotWidth / 2, y: HEIGHT - 6, class: "axis-title", "text-anchor": "middle" },
      "time (your zone)",
    ),
    svg(
      "text",
      {
        x: 14,
        y: PAD.top + plotHeight / 2,
        class: "axis-title",
        "text-anchor": "middle",
        transform: `rotate(-90 14 ${PAD.top + plotHeight / 2})`,
      },
      `events per ${duration(data.bucket_ms)}`,
    ),
  );
  const legend = el("ul", { class: "legend" }, ...groups.map((group) => el("li", { class: `swatch-${group}` }, group)));
  return el("figure", { class: "chart-figure" }, chart, legend);
}

function duration(ms: number): string {
  if (ms >= 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10} h`;
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
