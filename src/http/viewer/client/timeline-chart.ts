import type { WireEvent } from "./api.js";
import { el, svg } from "./dom.js";

/** One numeric payload field across the rounds: `null` where a round does not have it. */
export interface RoundSeries {
  readonly field: string;
  readonly values: readonly (number | null)[];
}

const MAX_SERIES = 6;
const WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 72, right: 16, top: 16, bottom: 48 };
/** Payload fields that hold the seller's floor: drawn as a line, not as a series. */
const FLOOR_FIELDS = ["floor_cpm", "floor"];

/** The numeric top-level payload fields of negotiation rounds (`round` itself is the x axis, not a series). */
export function roundSeries(rounds: readonly WireEvent[]): RoundSeries[] {
  const fields: string[] = [];
  for (const round of rounds) {
    for (const [field, value] of Object.entries(round.payload)) {
      if (field === "round" || FLOOR_FIELDS.includes(field)) continue;
      if (isNumber(value) && !fields.includes(field)) fields.push(field);
    }
  }
  return fields.slice(0, MAX_SERIES).map((field) => ({
    field,
    values: rounds.map((round) => {
      const value = round.payload[field];
      return isNumber(value) ? value : null;
    }),
  }));
}

/** The floor of a negotiation: `floor_cpm` (or `floor`) of its start or of any round, when it is a number. */
export function floorOf(events: readonly WireEvent[]): number | undefined {
  for (const event of events) {
    for (const field of FLOOR_FIELDS) if (isNumber(event.payload[field])) return event.payload[field] as number;
  }
  return undefined;
}

/**
 * A line chart of the rounds' numeric payload fields, one point per round, as an SVG element built node by
 * node, with axis titles (CPM in the payload's currency when every series is a CPM), the floor as a dashed line
 * when there is one, and a legend; or a sentence when the rounds hold no numbers.
 */
export function timelineChart(rounds: readonly WireEvent[], floor?: number): HTMLElement {
  const series = roundSeries(rounds);
  if (series.length === 0) {
    const text = rounds.length === 0 ? "No negotiation rounds here yet." : "The negotiation rounds hold no numbers.";
    return el("p", { class: "state" }, text);
  }
  const numbers = [...series.flatMap((line) => line.values.filter(isNumber)), ...(floor === undefined ? [] : [floor])];
  let low = Math.min(...numbers);
  let high = Math.max(...numbers);
  if (low === high) [low, high] = [low - 1, high + 1];
  const x = (index: number) =>
    rounds.length === 1
      ? (PAD.left + WIDTH - PAD.right) / 2
      : PAD.left + (index * (WIDTH - PAD.left - PAD.right)) / (rounds.length - 1);
  const y = (value: number) => PAD.top + ((high - value) * (HEIGHT - PAD.top - PAD.bottom)) / (high - low);
  const label = (index: number) => {
    const round = rounds[index]?.payload.round;
    return isNumber(round) ? String(round) : String(index + 1);
  };

  const chart = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img", "aria-labelledby": "chart-title" },
    svg("title", { id: "chart-title" }, `${series.map((line) => line.field).join(", ")} by negotiation round`),
    axes(low, high, y),
    ...axisTitles(series, rounds),
    floor === undefined ? null : floorLine(floor, y),
    ...rounds.map((_, index) =>
      svg("text", { x: x(index), y: HEIGHT - 26, class: "tick", "text-anchor": "middle" }, label(index)),
    ),
    ...series.map((line, number) => seriesGroup(line, number, x, y, label)),
  );
  const legend = el(
    "ul",
    { class: "legend" },
    ...series.map((line, number) => el("li", { class: `series-${number}` }, line.field)),
    floor === undefined ? null : el("li", { class: "floor-key" }, `floor ${format(floor)}`),
  );
  const cpm = series.every((line) => /(^|_)cpm$/.test(line.field));
  const caption = `${rounds.length} rounds${cpm ? " · CPM: price per 1,000 impressions" : ""}`;
  return el("figure", { class: "chart-figure" }, chart, legend, el("figcaption", {}, caption));
}

function axes(low: number, high: number, y: (value: number) => number): SVGGElement {
  const lines = [high, (low + high) / 2, low].map((value) =>
    svg(
      "g",
      {},
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "grid" }),
      svg("text", { x: PAD.left - 6, y: y(value) + 4, class: "tick", "text-anchor": "end" }, format(value)),
    ),
  );
  return svg("g", { class: "axes" }, ...lines);
}

function axisTitles(series: readonly RoundSeries[], rounds: readonly WireEvent[]): SVGTextElement[] {
  const cpm = series.every((line) => /(^|_)cpm$/.test(line.field));
  const currency = rounds.find((round) => typeof round.payload.currency === "string")?.payload.currency;
  // CPM is a price per 1,000 impressions; the caption under the chart says so in full.
  const unit = cpm ? `CPM (${typeof currency === "string" ? currency.slice(0, 3) : "USD"})` : "value";
  const middle = PAD.top + (HEIGHT - PAD.top - PAD.bottom) / 2;
  return [
    svg(
      "text",
      { x: (PAD.left + WIDTH - PAD.right) / 2, y: HEIGHT - 4, class: "axis-title", "text-anchor": "middle" },
      "negotiation round",
    ),
    svg(
      "text",
      { x: 14, y: middle, class: "axis-title", "text-anchor": "middle", transform: `rotate(-90 14 ${middle})` },
      unit,
    ),
  ];
}

function floorLine(floor: number, y: (value: number) => number): SVGGElement {
  return svg(
    "g",
    { class: "floor", "data-floor": floor },
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(floor), y2: y(floor) }),
    svg(
      "text",
      { x: WIDTH - PAD.right, y: y(floor) - 5, class: "tick", "text-anchor": "end" },
      `floor ${format(floor)}`,
    ),
  );
}

function seriesGroup(
  line: RoundSeries,
  number: number,
  x: (index: number) => number,
  y: (value: number) => number,
  label: (index: number) => string,
): SVGGElement {
  const points = line.values.flatMap((value, index) => (value === null ? [] : [{ value, index }]));
  return svg(
    "g",
    { class: `series series-${number}`, "data-field": line.field },
    svg("polyline", { points: points.map(({ value, index }) => `${x(index)},${y(value)}`).join(" ") }),
    ...points.map(({ value, index }) =>
      svg(
        "circle",
        { cx: x(index), cy: y(value), r: 4, class: "point", "data-round": label(index) },
        svg("title", {}, `round ${label(index)}: ${line.field} ${value}`),
      ),
    ),
  );
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}
