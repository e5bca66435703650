// The maintainers' dashboard: reads the analytics API through /dashboard/api/ (the session cookie
// authenticates; the admin key never reaches the browser) and draws it with Chart.js.
// Each card loads and fails on its own: an endpoint this receiver does not have yet, or an answer
// without data, leaves a note in that card and the rest of the page works.
(() => {
  "use strict";

  const state = {
    charts: {}, // card name -> Chart instance
    status: {}, // card name -> "loading" | "ok" | "empty" | "unavailable" | "error"
    data: {}, // endpoint path -> last answer
    timings: {}, // endpoint path -> milliseconds
    loaded: false,
    generation: 0,
  };
  window.dashboard = state;

  const PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#8cd17d",
    "#86bcb6", "#d4a6c8",
  ];
  const REFRESH_MS = 5 * 60 * 1000;
  const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

  class Unavailable extends Error {}

  const $ = (selector, root = document) => root.querySelector(selector);
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const fmt = (value) => (value === null || value === undefined ? "–" : numberFormat.format(value));
  const pct = (value, digits = 1) =>
    value === null || value === undefined ? "–" : `${(value * 100).toFixed(digits)} %`;
  const color = (index) => PALETTE[index % PALETTE.length];
  const alpha = (hex, a) => {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  };
  const semver = (version) => String(version).split(/[^0-9]+/).filter(Boolean).map(Number);
  const compareVersions = (a, b) => {
    const x = semver(a);
    const y = semver(b);
    for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
      if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
    }
    return 0;
  };

  function isoWeek(date) {
    const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
    const day = d.getUTCDay() || 7;
    d.setUTCDate(d.getUTCDate() + 4 - day);
    const yearStart = new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
    const week = Math.ceil(((d - yearStart) / 86400000 + 1) / 7);
    return `${d.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
  }

  function weeks() {
    const match = /weeks=(\d+)/.exec(window.location.hash);
    const value = match ? Number(match[1]) : Number($("#weeks").value);
    return Math.min(Math.max(value || 12, 1), 104);
  }

  // -- cards ---------------------------------------------------------------------------------

  function card(name) {
    return document.querySelector(`[data-card="${name}"]`);
  }

  function setStatus(name, status, text) {
    state.status[name] = status;
    const element = card(name) && $(".status", card(name));
    if (!element) return;
    element.textContent = text || "";
    element.classList.toggle("error", status === "error");
  }

  function libraryMissing() {
    return typeof window.Chart === "undefined";
  }

  function draw(name, config) {
    if (state.charts[name]) {
      state.charts[name].destroy();
      delete state.charts[name];
    }
    if (libraryMissing()) {
      setStatus(name, "error", "The chart library is missing (run ./scripts/run once to install it).");
      return;
    }
    const canvas = document.getElementById(`chart-${name}`);
    state.charts[name] = new window.Chart(canvas, config);
    setStatus(name, "ok", "");
  }

  function empty(name, text) {
    if (state.charts[name]) {
      state.charts[name].destroy();
      delete state.charts[name];
    }
    setStatus(name, "empty", text || "No data in this range.");
  }

  async function getJson(path) {
    const started = performance.now();
    const response = await fetch(`/dashboard/api/${path}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    state.timings[path] = performance.now() - started;
    if (response.status === 401) {
      window.location.assign("/dashboard/sign-in");
      throw new Error("signed out");
    }
    if (response.status === 404 || response.status === 405) {
      throw new Unavailable("Not available on this receiver (yet).");
    }
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        message = (await response.json()).error.message || message;
      } catch (_) {
        // keep the status line
      }
      throw new Error(message);
    }
    const body = await response.json();
    state.data[path] = body;
    return body;
  }

  async function load(names, path, render) {
    names.forEach((name) => setStatus(name, "loading", "Loading…"));
    try {
      const body = await getJson(path);
      render(body);
    } catch (error) {
      const unavailable = error instanceof Unavailable;
      names.forEach((name) =>
        setStatus(name, unavailable ? "unavailable" : "error", unavailable ? error.message : `Could not load: ${error.message}`),
      );
      if (!unavailable) console.error(path, error);
    }
  }

  // -- common chart options --------------------------------------------------------------------

  const narrow = () => window.matchMedia("(max-width: 600px)").matches;

  function baseOptions(extra = {}) {
    const labels = narrow() ? { boxWidth: 10, padding: 6, font: { size: 10 } } : { boxWidth: 12 };
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom", labels } },
      ...extra,
    };
  }

  function percentAxis(extra = {}) {
    return { ticks: { callback: (value) => `${value} %` }, ...extra };
  }

  function weekLabels(series) {
    return series.map((row) => row.week);
  }

  // -- renderers (shapes: docs/receiver.md, "Analytics") ---------------------------------------

  function renderOverview(d) {
    const set = (key, text, className) => {
      const element = document.querySelector(`[data-tile="${key}"]`);
      if (!element) return;
      element.textContent = text;
      element.classList.remove("up", "down");
      if (className) element.classList.add(className);
    };
    const inst = d.installations || {};
    set("active_7d", fmt(inst.active_7d));
    if (inst.change !== undefined && inst.change !== null) {
      const sign = inst.change > 0 ? "+" : "";
      set(
        "change",
        `${sign}${fmt(inst.change)} vs the week before (${pct(inst.change_rate)})`,
        inst.change < 0 ? "down" : inst.change > 0 ? "up" : "",
      );
    }
    set("active_30d", fmt(inst.active_30d));
    set("total", `${fmt(inst.total)} ever reported`);
    const printers = d.printers || {};
    set("printers", fmt(printers.total));
    set("printers_average", `${fmt(printers.average)} per active installation`);
    const jobs = d.jobs || {};
    set("success_rate", pct(jobs.success_rate));
    set("jobs", `${fmt(jobs.completed)} completed, ${fmt(jobs.failed)} failed`);
    const errors = d.errors || {};
    set("errors", fmt(errors.last_week));
    if (errors.previous_week !== undefined && errors.previous_week !== null) {
      const change = (errors.last_week || 0) - errors.previous_week;
      set("errors_change", `${change > 0 ? "+" : ""}${fmt(change)} vs the week before`, change > 0 ? "down" : "up");
    }
    const newest = d.newest_versions || {};
    set(
      "newest",
      Object.entries(newest)
        .filter(([, version]) => version)
        .map(([product, version]) => `${product} ${version}`)
        .join(" · ") || "–",
    );
    const anomalies = d.anomalies || {};
    set(
      "anomalies",
      anomalies.count ? `${anomalies.count} anomal${anomalies.count === 1 ? "y" : "ies"} (${anomalies.highest_severity})` : "no anomalies",
      anomalies.count ? "down" : "",
    );
    state.status.overview = "ok";
  }

  function renderInstallations(d) {
    const series = d.series || [];
    if (!series.some((row) => row.active)) return empty("installations");
    draw("installations", {
      type: "bar",
      data: {
        labels: weekLabels(series),
        datasets: [
          {
            type: "line", label: "Active", data: series.map((r) => r.active), yAxisID: "y",
            borderColor: color(0), backgroundColor: alpha(color(0), 0.15), fill: true,
            tension: 0.25, pointRadius: 2, borderWidth: 3, order: 0,
          },
          { label: "New", data: series.map((r) => r.new), backgroundColor: alpha(color(4), 0.5), yAxisID: "y1", order: 1, barPercentage: 0.6 },
          { label: "Gone quiet", data: series.map((r) => r.gone_quiet), backgroundColor: alpha(color(2), 0.5), yAxisID: "y1", order: 1, barPercentage: 0.6 },
        ],
      },
      options: baseOptions({
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "active" } },
          y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "new / gone quiet" } },
        },
      }),
    });
  }

  function renderVersions(d) {
    const series = d.series || [];
    const totals = new Map();
    series.forEach((row) =>
      (row.versions || []).forEach((v) => {
        const key = `${v.product} ${v.version}`;
        totals.set(key, (totals.get(key) || 0) + (v.installations || 0));
      }),
    );
    if (!totals.size) return empty("versions");
    const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([key]) => key);
    const shown = new Set(top);
    top.sort((a, b) => {
      const [pa, va] = a.split(" ");
      const [pb, vb] = b.split(" ");
      return pa === pb ? compareVersions(va, vb) : pa.localeCompare(pb);
    });
    const datasets = top.map((key, index) => ({
      label: key,
      data: series.map((row) => {
        const hit = (row.versions || []).find((v) => `${v.product} ${v.version}` === key);
        return hit ? hit.installations : 0;
      }),
      backgroundColor: color(index),
      stack: "versions",
    }));
    if (totals.size > shown.size) {
      datasets.push({
        label: "other",
        data: series.map((row) =>
          (row.versions || [])
            .filter((v) => !shown.has(`${v.product} ${v.version}`))
            .reduce((sum, v) => sum + (v.installations || 0), 0),
        ),
        backgroundColor: alpha("#888888", 0.6),
        stack: "versions",
      });
    }
    draw("versions", {
      type: "bar",
      data: { labels: weekLabels(series), datasets },
      options: baseOptions({
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "installations" } } },
      }),
    });
  }

  function doughnut(name, rows, labelOf, valueOf) {
    const items = rows.filter((row) => valueOf(row) > 0);
    if (!items.length) return empty(name);
    draw(name, {
      type: "doughnut",
      data: {
        labels: items.map(labelOf),
        datasets: [{ data: items.map(valueOf), backgroundColor: items.map((_, i) => color(i)), borderColor: css("--card"), borderWidth: 2 }],
      },
      options: baseOptions({ interaction: { mode: "nearest", intersect: true }, plugins: { legend: { position: "right", labels: { boxWidth: 12 } } } }),
    });
  }

  function horizontalBars(name, labels, values, label, asPercent = false) {
    if (!values.some((value) => value > 0)) return empty(name);
    draw(name, {
      type: "bar",
      data: { labels, datasets: [{ label, data: values, backgroundColor: labels.map((_, i) => color(i)) }] },
      options: baseOptions({
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: {
          x: asPercent ? percentAxis({ beginAtZero: true }) : { beginAtZero: true },
          y: { ticks: { autoSkip: false } },
        },
      }),
    });
  }

  function topWithOther(rows, labelOf, valueOf, count) {
    const sorted = [...rows].sort((a, b) => valueOf(b) - valueOf(a));
    const top = sorted.slice(0, count);
    const rest = sorted.slice(count).reduce((sum, row) => sum + valueOf(row), 0);
    const labels = top.map(labelOf);
    const values = top.map(valueOf);
    if (rest > 0) {
      labels.push("other");
      values.push(rest);
    }
    return [labels, values];
  }

  function renderModes(d) {
    doughnut("modes", d.current || [], (row) => row.mode, (row) => row.installations || 0);
  }

  function renderCountries(d) {
    const [labels, values] = topWithOther(d.current || [], (row) => row.country, (row) => row.installations || 0, 12);
    horizontalBars("countries", labels, values, "installations");
  }

  function renderPrinters(d) {
    doughnut("families", d.by_family || [], (row) => row.family, (row) => row.printers || 0);
    const [labels, values] = topWithOther(
      d.by_model || [],
      (row) => (row.model === "unknown" ? `${row.family} (model unknown)` : `${row.family} ${row.model}`),
      (row) => row.printers || 0,
      12,
    );
    horizontalBars("models", labels, values, "printers");
    const histogram = d.histogram || [];
    if (!histogram.some((row) => row.installations)) {
      empty("fleet");
    } else {
      draw("fleet", {
        type: "bar",
        data: {
          labels: histogram.map((row) => row.bucket),
          datasets: [{ label: "installations", data: histogram.map((row) => row.installations), backgroundColor: color(0) }],
        },
        options: baseOptions({
          plugins: { legend: { display: false } },
          scales: { x: { title: { display: true, text: "printers per installation" } }, y: { beginAtZero: true } },
        }),
      });
    }
  }

  function renderFeatures(d) {
    const features = (d.features || []).filter((f) => f.installations || (f.series || []).some((s) => s.adoption));
    if (!features.length) return empty("features");
    const withSeries = features.filter((f) => (f.series || []).length > 1);
    if (withSeries.length) {
      draw("features", {
        type: "line",
        data: {
          labels: weekLabels(withSeries[0].series),
          datasets: withSeries.map((f, i) => ({
            label: f.feature,
            data: f.series.map((s) => (s.adoption === null ? null : s.adoption * 100)),
            borderColor: color(i), backgroundColor: color(i), tension: 0.25, pointRadius: 0, spanGaps: true,
          })),
        },
        options: baseOptions({ scales: { y: percentAxis({ beginAtZero: true, suggestedMax: 100 }) } }),
      });
      return;
    }
    horizontalBars("features", features.map((f) => f.feature), features.map((f) => (f.adoption || 0) * 100), "adoption", true);
  }

  function renderJobs(d) {
    const series = d.series || [];
    if (!series.some((row) => row.started || row.completed || row.failed)) {
      const legacy = d.totals && d.totals.legacy_job_count;
      return empty("jobs", legacy ? `Only schema 1.0 job counts in this range (${fmt(legacy)} jobs).` : undefined);
    }
    draw("jobs", {
      type: "bar",
      data: {
        labels: weekLabels(series),
        datasets: [
          {
            type: "line", label: "Success rate", yAxisID: "y1", order: 0,
            data: series.map((r) => (r.success_rate === null || r.success_rate === undefined ? null : r.success_rate * 100)),
            borderColor: color(0), backgroundColor: color(0), tension: 0.25, pointRadius: 2, spanGaps: true,
          },
          { label: "Completed", data: series.map((r) => r.completed), backgroundColor: alpha(color(4), 0.75), stack: "jobs", order: 1 },
          { label: "Failed", data: series.map((r) => r.failed), backgroundColor: alpha(color(2), 0.85), stack: "jobs", order: 1 },
          { label: "Cancelled", data: series.map((r) => r.cancelled), backgroundColor: alpha(color(1), 0.85), stack: "jobs", order: 1 },
          { label: "Without outcome", data: series.map((r) => r.ended_without_outcome), backgroundColor: alpha("#888888", 0.7), stack: "jobs", order: 1 },
        ],
      },
      options: baseOptions({
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "jobs" } },
          y1: percentAxis({ position: "right", suggestedMin: 70, suggestedMax: 100, grid: { drawOnChartArea: false } }),
        },
      }),
    });
  }

  function renderErrors(d) {
    const series = d.series || [];
    const body = $("#error-codes tbody");
    body.replaceChildren(
      ...(d.by_code || []).slice(0, 8).map((row) => {
        const tr = document.createElement("tr");
        const change = row.change_rate === null || row.change_rate === undefined ? fmt(row.change) : `${row.change > 0 ? "+" : ""}${fmt(row.change)} (${pct(row.change_rate, 0)})`;
        [row.code, fmt(row.count), fmt(row.last_week), change].forEach((text, i) => {
          const td = document.createElement("td");
          td.textContent = text;
          if (i) td.className = "num";
          tr.append(td);
        });
        return tr;
      }),
    );
    if (!series.some((row) => row.errors)) return empty("errors");
    draw("errors", {
      type: "bar",
      data: {
        labels: weekLabels(series),
        datasets: [
          {
            type: "line", label: "Errors per reporting installation", yAxisID: "y1", order: 0,
            data: series.map((r) => r.errors_per_installation), borderColor: color(1), backgroundColor: color(1),
            tension: 0.25, pointRadius: 2, spanGaps: true,
          },
          { label: "Errors", data: series.map((r) => r.errors), backgroundColor: alpha(color(2), 0.7), order: 1 },
        ],
      },
      options: baseOptions({
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "errors" } },
          y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "per installation" } },
        },
      }),
    });
  }

  function renderAnomalies(d) {
    const list = $("#anomaly-list");
    const anomalies = d.anomalies || [];
    list.replaceChildren(
      ...anomalies.map((a) => {
        const li = document.createElement("li");
        li.className = a.severity === "critical" ? "critical" : "warning";
        const badge = document.createElement("span");
        badge.className = `badge ${li.className}`;
        badge.textContent = a.severity;
        const text = document.createElement("span");
        text.textContent = a.explanation || a.kind;
        const meta = document.createElement("div");
        meta.className = "meta";
        meta.textContent = [a.week, a.kind, a.subject, a.score !== undefined ? `score ${fmt(a.score)} (threshold ${fmt(a.threshold)})` : null]
          .filter(Boolean)
          .join(" · ");
        li.append(badge, text, meta);
        return li;
      }),
    );
    if (!anomalies.length) return empty("anomalies", "No anomalies in this range.");
    setStatus("anomalies", "ok", `${anomalies.length} found, newest first.`);
  }

  function renderReliability(d) {
    const models = (d.models || []).filter((m) => m.success_rate !== null && m.success_rate !== undefined);
    const label = (m) => (m.model === "unknown" ? `${m.family} (model unknown)` : `${m.family} ${m.model}`);
    const body = $("#reliability-table tbody");
    body.replaceChildren(
      ...(d.models || []).map((m) => {
        const tr = document.createElement("tr");
        const interval = m.success_rate_95 ? ` (${pct(m.success_rate_95.low)}–${pct(m.success_rate_95.high)})` : "";
        const top = (m.top_error_codes || [])[0];
        [
          label(m),
          fmt(m.average_printers),
          fmt(m.jobs ? m.jobs.started : null),
          `${pct(m.success_rate)}${interval}`,
          fmt(m.print_hours_per_printer_week),
          fmt(m.errors_per_100_print_hours),
          top ? `${top.code} (${fmt(top.count)})` : "–",
        ].forEach((text, i) => {
          const td = document.createElement("td");
          td.textContent = text;
          if (i && i < 6) td.className = "num";
          tr.append(td);
        });
        return tr;
      }),
    );
    if (!models.length) return empty("reliability", "No per-model job outcomes in this range (sent by integrations whose payloads carry usage_by_model).");
    const shown = models.slice(0, 15);
    const low = Math.max(0, Math.floor(Math.min(...shown.map((m) => m.success_rate_95.low * 100)) / 5) * 5 - 5);
    draw("reliability", {
      type: "bar",
      data: {
        labels: shown.map(label),
        datasets: [
          {
            type: "line", label: "Success rate", data: shown.map((m) => m.success_rate * 100), showLine: false,
            pointStyle: "rectRot", pointRadius: 6, borderColor: color(0), backgroundColor: color(0), order: 0,
          },
          {
            label: "95 % interval", data: shown.map((m) => [m.success_rate_95.low * 100, m.success_rate_95.high * 100]),
            backgroundColor: alpha(color(0), 0.3), borderColor: alpha(color(0), 0.6), borderWidth: 1, barPercentage: 0.6, order: 1,
          },
        ],
      },
      options: baseOptions({
        indexAxis: "y",
        interaction: { mode: "index", intersect: false, axis: "y" },
        scales: { x: percentAxis({ min: low, max: 100 }) },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              afterBody: (items) => {
                const m = shown[items[0].dataIndex];
                return [`${fmt(m.jobs.started)} jobs, ${fmt(m.print_hours)} print hours`, `${fmt(m.errors_per_100_print_hours)} errors per 100 print hours`];
              },
            },
          },
        },
      }),
    });
  }

  // -- page ------------------------------------------------------------------------------------

  function applyTheme() {
    if (libraryMissing()) return;
    window.Chart.defaults.color = css("--muted");
    window.Chart.defaults.borderColor = css("--grid");
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  }

  async function refresh() {
    const generation = (state.generation += 1);
    state.loaded = false;
    const notice = $("#notice");
    if (libraryMissing()) {
      notice.hidden = false;
      notice.textContent = "The chart library is not installed on this receiver (receiver/dashboard/static/vendor); the figures below still load. ./scripts/run or ./scripts/test installs it.";
    }
    applyTheme();
    const count = weeks();
    const range = `weeks=${count}`;
    const now = new Date();
    const until = isoWeek(new Date(now.getTime() - 7 * 86400000));
    const since = isoWeek(new Date(now.getTime() - 7 * count * 86400000));
    const started = performance.now();
    await Promise.allSettled([
      load(["overview"], `stats/overview?${range}`, renderOverview),
      load(["installations"], `stats/installations?${range}`, renderInstallations),
      load(["versions"], `stats/versions?${range}`, renderVersions),
      load(["modes"], `stats/deployment-modes?${range}`, renderModes),
      load(["countries"], `stats/countries?${range}`, renderCountries),
      load(["families", "models", "fleet"], `stats/printers?${range}`, renderPrinters),
      load(["features"], `stats/features?${range}`, renderFeatures),
      load(["jobs"], `stats/jobs?${range}`, renderJobs),
      load(["errors"], `stats/errors?${range}`, renderErrors),
      load(["anomalies"], `stats/anomalies?${range}`, renderAnomalies),
      load(["reliability"], `stats/reliability?since_week=${since}&until_week=${until}`, renderReliability),
    ]);
    if (generation === state.generation) {
      state.dataMs = performance.now() - started;
      state.loaded = true;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const select = $("#weeks");
    const fromHash = /weeks=(\d+)/.exec(window.location.hash);
    if (fromHash && [...select.options].some((o) => o.value === fromHash[1])) select.value = fromHash[1];
    select.addEventListener("change", () => {
      window.location.hash = `weeks=${select.value}`;
    });
    window.addEventListener("hashchange", refresh);
    $("#refresh").addEventListener("click", refresh);
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      refresh();
    });
    setInterval(() => {
      if (document.visibilityState === "visible") refresh();
    }, REFRESH_MS);
    refresh();
  });
})();
