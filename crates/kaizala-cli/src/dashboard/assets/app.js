// The Kaizala dashboard: polls /api/dashboard and draws what it returns.
//
// Plain JavaScript, no libraries. Every piece of data reaches the page as
// text (textContent, attribute values), never as markup.
"use strict";

const API_URL = "/api/dashboard";
const REFRESH_MS = 5000;
const FETCH_TIMEOUT_MS = 15000;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** The hours shown at least, and the days shown, in the time charts. */
const MIN_HOURS = 24;
const DAYS = 30;
const SVG_NS = "http://www.w3.org/2000/svg";

/** A colour-blind-friendly palette (Okabe–Ito, then Tableau). */
const PALETTE = [
  "#2563eb", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
  "#d55e00", "#7c3aed", "#0f766e", "#b45309", "#64748b",
];

const state = {
  data: null,
  signature: "",
  refreshes: 0,
  /** Series key → colour, per chart, kept across refreshes. */
  colours: new Map(),
};

// ---------------------------------------------------------------- DOM helpers

/** An HTML element with attributes and children (strings become text). */
function html(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attributes);
  node.append(...children);
  return node;
}

/** An SVG element with attributes and children (strings become text). */
function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attributes);
  node.append(...children);
  return node;
}

function setAttributes(node, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) {
      node.setAttribute(name, String(value));
    }
  }
}

function byId(id) {
  return document.getElementById(id);
}

/** Shows the panel's empty state instead of its content, or the reverse. */
function showEmpty(panel, empty) {
  for (const part of panel.querySelectorAll(".legend, .chart-box, .questions, .table-box")) {
    part.hidden = empty;
  }
  panel.querySelector(".empty").hidden = !empty;
}

// ----------------------------------------------------------------- formatting

const numberFormat = new Intl.NumberFormat();
/**
 * Days of responses_per_day are already the sink's days, their start counted
 * as if UTC: labelled in UTC.
 */
const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });

/** The formats of times in one zone (undefined: the browser's). */
function zoneFormats(timeZone) {
  return {
    timeZone,
    hour: new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone }),
    hourOfDay: new Intl.DateTimeFormat("en-GB", { hour: "2-digit", hourCycle: "h23", timeZone }),
    day: new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone }),
    dateTime: new Intl.DateTimeFormat(undefined, {
      day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone,
    }),
    time: new Intl.DateTimeFormat(undefined, {
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone,
    }),
  };
}

/** Times are shown in the sink's time zone (`kaizala sql set-timezone`). */
let zone = zoneFormats(undefined);

function useZone(timeZone) {
  if (timeZone === zone.timeZone) {
    return;
  }
  try {
    zone = zoneFormats(timeZone);
  } catch (error) {
    // A zone this browser does not know: its own zone is the best left.
    zone = zoneFormats(undefined);
  }
}

function formatCount(n) {
  return numberFormat.format(n);
}

function formatShare(count, total) {
  return total > 0 ? `${((count * 100) / total).toFixed(1)}%` : "0.0%";
}

/** An hour's label: its time, with the date at midnight. */
function formatHour(ms) {
  const date = new Date(ms);
  return zone.hourOfDay.format(date) === "00" ? zone.day.format(date) : zone.hour.format(date);
}

/** A long identifier, shortened for a table cell. */
function shorten(text, length = 10) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

// -------------------------------------------------------------------- colours

function colourFor(chart, key) {
  let colours = state.colours.get(chart);
  if (!colours) {
    colours = new Map();
    state.colours.set(chart, colours);
  }
  if (!colours.has(key)) {
    colours.set(key, PALETTE[colours.size % PALETTE.length]);
  }
  return colours.get(key);
}

// -------------------------------------------------------------------- metrics

function renderMetrics(counts) {
  const values = {
    events: counts.events,
    responses: counts.responses,
    actions: counts.actions,
    messages: counts.messages,
    quarantined: counts.quarantine,
  };
  for (const [metric, value] of Object.entries(values)) {
    const node = document.querySelector(`[data-metric="${metric}"]`);
    node.textContent = formatCount(value ?? 0);
    node.dataset.value = String(value ?? 0);
  }
  const quarantined = document.querySelector('[data-metric="quarantined"]').closest(".metric");
  quarantined.classList.toggle("metric-alert", (values.quarantined ?? 0) > 0);
}

// ----------------------------------------------------------- time-series data

/**
 * Rows of {time, key, name, count} as stacked-bar data: `buckets` from
 * `start` to `end` every `step` ms, and one series per key (largest total
 * first) with a value per bucket.
 */
function toSeries(rows, { start, end, step, label }) {
  const buckets = [];
  for (let time = start; time <= end; time += step) {
    buckets.push({ time, label: label(time) });
  }
  const byKey = new Map();
  for (const row of rows) {
    const index = Math.round((row.time - start) / step);
    if (index < 0 || index >= buckets.length) {
      continue;
    }
    if (!byKey.has(row.key)) {
      byKey.set(row.key, { key: row.key, name: row.name, values: buckets.map(() => 0), total: 0 });
    }
    const series = byKey.get(row.key);
    series.values[index] += row.count;
    series.total += row.count;
  }
  const series = [...byKey.values()].sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  return { buckets, series };
}

function hourlySeries(rows) {
  if (rows.length === 0) {
    return { buckets: [], series: [] };
  }
  const hours = rows.map((row) => row.hour_start);
  const end = Math.max(...hours);
  const start = Math.min(Math.min(...hours), end - (MIN_HOURS - 1) * HOUR_MS);
  const points = rows.map((row) => ({
    time: row.hour_start, key: row.event_type, name: row.event_type, count: row.count,
  }));
  return toSeries(points, { start, end, step: HOUR_MS, label: formatHour });
}

function dailySeries(rows) {
  if (rows.length === 0) {
    return { buckets: [], series: [] };
  }
  const end = Math.max(...rows.map((row) => row.day_start));
  const start = end - (DAYS - 1) * DAY_MS;
  const points = rows.map((row) => ({
    time: row.day_start, key: row.action_id, name: row.title || row.action_id, count: row.responses,
  }));
  return toSeries(points, { start, end, step: DAY_MS, label: (ms) => dayFormat.format(new Date(ms)) });
}

// ---------------------------------------------------------------------- chart

/** Round tick values from 0 to at least `max`, about `count` of them. */
function niceTicks(max, count = 4) {
  const raw = Math.max(max, 1) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const nice = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10;
  const step = Math.max(1, nice * magnitude);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks = [];
  for (let value = 0; value <= top; value += step) {
    ticks.push(value);
  }
  return ticks;
}

/** Draws `data` (from toSeries) as stacked bars into the <svg> `chart`. */
function renderStackedBars(chart, data, chartName) {
  const width = Math.max(240, Math.round(chart.parentElement.getBoundingClientRect().width));
  const height = 240;
  const margin = { top: 12, right: 8, bottom: 28, left: 44 };
  const plot = { width: width - margin.left - margin.right, height: height - margin.top - margin.bottom };
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  chart.setAttribute("width", String(width));
  chart.setAttribute("height", String(height));

  const totals = data.buckets.map((_, i) => data.series.reduce((sum, s) => sum + s.values[i], 0));
  const ticks = niceTicks(Math.max(0, ...totals));
  const top = ticks[ticks.length - 1];
  const y = (value) => margin.top + plot.height - (value / top) * plot.height;
  const band = plot.width / data.buckets.length;

  chart.replaceChildren(
    yAxis(ticks, y, margin.left, width - margin.right),
    xAxis(data.buckets, band, margin.left, height - margin.bottom),
    bars(data, { band, y, left: margin.left, chartName }),
  );
  chart.dataset.total = String(totals.reduce((a, b) => a + b, 0));
}

function yAxis(ticks, y, left, right) {
  const group = svg("g", { class: "axis axis-y" });
  for (const value of ticks) {
    group.append(
      svg("line", { class: value === 0 ? "baseline" : "gridline", x1: left, x2: right, y1: y(value), y2: y(value) }),
      svg("text", { x: left - 8, y: y(value), dy: "0.32em", "text-anchor": "end" }, formatCount(value)),
    );
  }
  return group;
}

function xAxis(buckets, band, left, baseline) {
  const group = svg("g", { class: "axis axis-x" });
  const every = Math.max(1, Math.ceil(64 / band));
  buckets.forEach((bucket, i) => {
    // Label the newest bucket, and every `every`-th one before it.
    if ((buckets.length - 1 - i) % every === 0) {
      const x = left + (i + 0.5) * band;
      group.append(
        svg("line", { class: "tick", x1: x, x2: x, y1: baseline, y2: baseline + 4 }),
        svg("text", { x, y: baseline + 18, "text-anchor": "middle" }, bucket.label),
      );
    }
  });
  return group;
}

function bars(data, { band, y, left, chartName }) {
  const group = svg("g", { class: "bars" });
  const barWidth = Math.max(1, Math.min(band * 0.75, 36));
  data.buckets.forEach((bucket, i) => {
    const x = left + i * band + (band - barWidth) / 2;
    let base = 0;
    for (const series of data.series) {
      const value = series.values[i];
      if (value === 0) {
        continue;
      }
      const rect = svg(
        "rect",
        {
          x, y: y(base + value), width: barWidth, height: Math.max(0.5, y(base) - y(base + value)),
          fill: colourFor(chartName, series.key), "data-series": series.key, "data-count": value,
        },
        svg("title", {}, `${bucket.label} · ${series.name}: ${formatCount(value)}`),
      );
      group.append(rect);
      base += value;
    }
  });
  return group;
}

function renderLegend(list, series, chartName) {
  list.replaceChildren(
    ...series.map((s) => {
      const swatch = html("span", { class: "swatch", "aria-hidden": "true" });
      swatch.style.backgroundColor = colourFor(chartName, s.key);
      return html(
        "li",
        { class: "legend-item", "data-series": s.key, "data-total": s.total, title: s.name },
        swatch,
        html("span", { class: "legend-name" }, s.name),
        html("span", { class: "legend-count" }, formatCount(s.total)),
      );
    }),
  );
}

/** One time chart's panel: legend and bars, or the empty state. */
function renderTimeChart(name, data) {
  const panel = byId(`panel-${name}`);
  showEmpty(panel, data.series.length === 0);
  if (data.series.length === 0) {
    byId(`legend-${name}`).replaceChildren();
    byId(`chart-${name}`).replaceChildren();
    return;
  }
  renderLegend(byId(`legend-${name}`), data.series, name);
  renderStackedBars(byId(`chart-${name}`), data, name);
}

// -------------------------------------------------------------------- answers

function renderAnswers(questions) {
  showEmpty(byId("panel-answer-distribution"), questions.length === 0);
  byId("answer-distribution").replaceChildren(...questions.map(questionCard));
}

function questionCard(question) {
  const total = question.options.reduce((sum, option) => sum + option.count, 0);
  const title = question.question_title || `Question ${question.question_index + 1}`;
  const action = question.action_title || question.action_id;
  return html(
    "section",
    {
      class: "question",
      id: `answers-${question.action_id}-${question.question_index}`,
      "data-action-id": question.action_id,
      "data-question-index": question.question_index,
      "data-total": total,
    },
    html("h3", { class: "question-title" }, title),
    html("p", { class: "question-note" }, `${action} · ${formatCount(total)} ${total === 1 ? "answer" : "answers"}`),
    html("ol", { class: "options" }, ...question.options.map((option) => optionRow(option, total))),
  );
}

function optionRow(option, total) {
  const fill = html("span", { class: "option-fill" });
  fill.style.width = total > 0 ? `${(option.count * 100) / total}%` : "0%";
  const name = option.option || "(no title)";
  return html(
    "li",
    { class: "option", "data-option": option.option, "data-count": option.count },
    html("span", { class: "option-name", title: name }, name),
    html("span", { class: "option-bar", "aria-hidden": "true" }, fill),
    html("span", { class: "option-count" }, formatCount(option.count)),
    html("span", { class: "option-share" }, formatShare(option.count, total)),
  );
}

// ------------------------------------------------------------------- messages

function renderMessages(messages) {
  showEmpty(byId("panel-latest-messages"), messages.length === 0);
  byId("latest-messages").tBodies[0].replaceChildren(...messages.map(messageRow));
}

function messageRow(message) {
  const sent = new Date(message.sent_at);
  const group = message.group_id || "";
  return html(
    "tr",
    { "data-sent-at": message.sent_at },
    html("td", { class: "message-time" }, html("time", { datetime: sent.toISOString() }, zone.dateTime.format(sent))),
    html("td", { class: "message-sender" }, message.sender_name || "—"),
    html("td", { class: "message-text" }, message.text ?? ""),
    html("td", { class: "message-group", title: group }, shorten(group)),
  );
}

// --------------------------------------------------------------------- status

function setStatus(status, text) {
  const node = byId("status");
  node.dataset.state = status;
  byId("status-text").textContent = text;
}

// ----------------------------------------------------------------- the loop

function render(data) {
  renderMetrics(data.counts);
  renderCharts(data);
  renderAnswers(data.answer_distribution);
  renderMessages(data.latest_messages);
}

function renderCharts(data) {
  renderTimeChart("events-per-hour", hourlySeries(data.events_per_hour));
  renderTimeChart("responses-over-time", dailySeries(data.responses_over_time));
}

async function fetchDashboard() {
  const response = await fetch(API_URL, {
    cache: "no-store",
    headers: { Accept: "application/json" },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.error || `the server answered ${response.status}`);
  }
  return body;
}

async function refresh() {
  let data;
  try {
    data = await fetchDashboard();
  } catch (error) {
    // The server stopped, or cannot read its database: say so, keep the
    // last numbers on screen, and try again.
    const reason = error instanceof TypeError ? "cannot reach the dashboard server" : error.message;
    setStatus("error", `Not updated: ${reason}. Retrying…`);
    return;
  }
  const signature = JSON.stringify({ ...data, generated_at: 0 });
  if (signature !== state.signature) {
    useZone(data.time_zone);
    render(data);
    state.signature = signature;
  }
  state.data = data;
  state.refreshes += 1;
  document.body.dataset.refreshes = String(state.refreshes);
  const generated = zone.time.format(new Date(data.generated_at));
  byId("generated-at").textContent = `data as of ${generated} (${data.time_zone})`;
  setStatus("ok", `Live · updated ${generated}`);
}

async function poll() {
  try {
    await refresh();
  } catch (error) {
    // A bug in rendering: errors.js records it; keep polling.
    console.error(error);
    setStatus("error", "Could not draw the data (see the browser console). Retrying…");
  }
  setTimeout(poll, REFRESH_MS);
}

/** Calls `action` once the window stopped resizing for a moment. */
function debounce(action, ms) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, ms);
  };
}

window.addEventListener(
  "resize",
  debounce(() => {
    if (state.data) {
      renderCharts(state.data);
    }
  }, 150),
);

poll();
