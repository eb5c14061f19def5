// The lever explorer's page: controls for the levers, charts of the key outcomes, the cost of
// the chosen mix. Every run is window.sdModel's (model.js), in this browser.
// Exposes window.sdExplorer = {settings(), apply(settings), timing, chart(), ...} for tests.

(function () {
  "use strict";
  const model = window.sdModel;
  const spec = model.spec;
  const MIX = "#1f77b4";
  const BASELINE = "#888888";
  const BAND = "rgba(31, 119, 180, 0.18)";
  const CHARTED = ["Margin", "Total Profit", "Buyer Dependence", "Own Brand Share",
                   "Value Added"];
  const outcomes = Object.fromEntries(spec.outcomes.map((o) => [o.name, o]));
  const finalRow = model.times.length - 1;
  const finalYear = model.times[finalRow];
  const byId = (id) => document.getElementById(id);
  const number = new Intl.NumberFormat("en", {maximumFractionDigits: 2,
                                              minimumFractionDigits: 2});
  const baselineSettings = {levers: (model.presets.baseline || {levers: {}}).levers};
  const baseline = model.run(baselineSettings);

  // The controls' values; a lever at level 0 is left as the model has it.
  const state = {};
  const inputs = {};

  function defaults(lever) {
    return {level: 0, startYear: lever.startYear, rampYears: lever.rampYears};
  }

  function settings() {
    const levers = {};
    for (const lever of model.levers) {
      const value = state[lever.id];
      if (value.level > 0) { levers[lever.id] = Object.assign({}, value); }
    }
    return {levers: levers};
  }

  // ---------------------------------------------------------------- controls
  function slider(lever, key, label, min, max, step, format) {
    const id = `lever-${lever.id}-${key}`;
    const row = document.createElement("label");
    row.className = "control";
    row.htmlFor = id;
    const name = document.createElement("span");
    name.textContent = label;
    const input = document.createElement("input");
    Object.assign(input, {type: "range", id: id, min: String(min), max: String(max),
                          step: String(step)});
    const shown = document.createElement("output");
    shown.htmlFor = id;
    input.addEventListener("input", () => {
      state[lever.id][key] = Number(input.value);
      shown.textContent = format(state[lever.id][key]);
      byId("preset").value = "";
      changed();
    });
    row.append(name, input, shown);
    inputs[id] = {input: input, shown: shown, format: format};
    return row;
  }

  function buildControls() {
    const holder = byId("levers");
    for (const lever of model.levers) {
      state[lever.id] = defaults(lever);
      const box = document.createElement("fieldset");
      box.className = "lever";
      const legend = document.createElement("legend");
      legend.textContent = `${lever.number}. ${lever.title}`;
      legend.title = lever.paper;
      box.append(legend,
        slider(lever, "level", "Level", 0, lever.maxLevel, 0.05,
               (v) => `${number.format(v)} × full`),
        slider(lever, "startYear", "Start year", lever.firstYear, lever.lastYear, 1,
               (v) => String(v)),
        slider(lever, "rampYears", "Ramp years", 0, lever.maxRampYears, 1,
               (v) => `${v} y`));
      holder.append(box);
    }
    const presets = byId("preset");
    for (const [name, preset] of Object.entries(model.presets)) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = preset.title;
      option.title = preset.description;
      presets.append(option);
    }
    presets.addEventListener("change", () => {
      if (presets.value) { apply(model.presets[presets.value]); }
    });
    byId("reset").addEventListener("click", () => {
      apply(baselineSettings);
      presets.value = model.presets.baseline ? "baseline" : "";
    });
    const clusters = byId("cluster");
    for (const cluster of spec.clusters) {
      const option = document.createElement("option");
      option.value = option.textContent = cluster;
      clusters.append(option);
    }
    clusters.addEventListener("change", changed);
    const bands = byId("bands");
    if (spec.sample) {
      byId("band-note").textContent = `Bands: 5–95 % of the chosen mix over ` +
        `${spec.sample.members.length} parameter sets from the fit's posterior sample ` +
        `(seed ${spec.sample.seed}); each redraw then runs them all.`;
      bands.addEventListener("change", changed);
    } else {
      bands.disabled = true;
      byId("band-note").textContent = "This page carries no posterior sample, so it " +
        "cannot draw bands (write it with --members above 0).";
    }
    byId("download").addEventListener("click", download);
  }

  function showControls() {
    for (const lever of model.levers) {
      for (const key of ["level", "startYear", "rampYears"]) {
        const control = inputs[`lever-${lever.id}-${key}`];
        control.input.value = String(state[lever.id][key]);
        control.shown.textContent = control.format(state[lever.id][key]);
      }
    }
  }

  // Set every control from a settings object (a preset's, or a test's); returns the redraw.
  function apply(chosen) {
    const levers = (chosen && chosen.levers) || {};
    for (const lever of model.levers) {
      const value = levers[lever.id];
      state[lever.id] = value === undefined ? defaults(lever) : {
        level: value.level ?? 1,
        startYear: value.startYear ?? lever.startYear,
        rampYears: value.rampYears ?? lever.rampYears,
      };
    }
    showControls();
    return changed();
  }

  function download() {
    const text = model.scenarioToml(settings(), "explorer-mix");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type: "application/toml"}));
    link.download = "explorer-mix.toml";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  }

  // ---------------------------------------------------------------- charts
  // One figure with a panel per outcome: one Plotly.react redraws them all, about half the
  // time of five figures (each figure costs its own layout pass).
  const GAP = 0.045;  // between panels, a fraction of the figure's height
  const PANEL = 250;  // px of height per panel
  let chart = null;

  function scaled(values, outcome) {
    return outcome.fraction ? values.map((v) => v * 100) : values;
  }

  function axisName(k) { return k === 0 ? "" : String(k + 1); }

  function trace(k, column, values, outcome, role, extra) {
    return Object.assign({
      x: model.times, y: scaled(values, outcome), type: "scatter", mode: "lines",
      xaxis: `x${axisName(k)}`, yaxis: `y${axisName(k)}`,
      meta: {role: role, column: column, scale: outcome.fraction ? 100 : 1},
      hovertemplate: `%{y:.3~g} ${outcome.fraction ? "%" : ""}<extra>${role}</extra>`,
    }, extra);
  }

  function figure(cluster, run, band, marks) {
    const data = [];
    const count = CHARTED.length;
    const height = (1 - GAP * (count - 1)) / count;
    const layout = {
      height: PANEL * count, margin: {l: 80, r: 20, t: 75, b: 40}, showlegend: true,
      title: {text: `${cluster}: the chosen mix against the baseline`, x: 0, xanchor: "left",
              y: 0.995, yanchor: "top", font: {size: 15}},
      legend: {orientation: "h", x: 0, y: 1.003, yanchor: "bottom"},
      annotations: [], shapes: [], uirevision: "explorer",
    };
    CHARTED.forEach((name, k) => {
      const outcome = outcomes[name];
      const column = `${name}[${cluster}]`;
      const first = k === 0;
      if (band) {
        data.push(trace(k, column, band.high[column], outcome, "95 %",
                        {line: {width: 0}, showlegend: false, hoverinfo: "skip"}),
                  trace(k, column, band.low[column], outcome, "5–95 %",
                        {line: {width: 0}, fill: "tonexty", fillcolor: BAND,
                         name: "5–95 % band", legendgroup: "band", showlegend: first}));
      }
      data.push(trace(k, column, baseline.columns[column], outcome, "baseline",
                      {name: "baseline", legendgroup: "baseline", showlegend: first,
                       line: {color: BASELINE, dash: "dash", width: 2}}),
                trace(k, column, run.columns[column], outcome, "mix",
                      {name: "chosen mix", legendgroup: "mix", showlegend: first,
                       line: {color: MIX, width: 2.5}}));
      const top = 1 - k * (height + GAP);
      const axis = axisName(k);
      layout[`xaxis${axis}`] = {domain: [0, 1], anchor: `y${axis}`,
                                matches: first ? undefined : "x",
                                title: {text: k === count - 1 ? "Year" : ""}};
      layout[`yaxis${axis}`] = {domain: [top - height, top], anchor: `x${axis}`,
                                title: {text: `<b>${name}</b><br>${outcome.unit}`},
                                rangemode: outcome.fraction ? "tozero" : "normal"};
    });
    // A start year is one line through every panel (their years are the same: matches "x"),
    // labelled once at the top: annotations cost Plotly a text layout each.
    marks.forEach((mark, m) => {
      layout.shapes.push({type: "line", xref: "x", yref: "paper", x0: mark.year,
                          x1: mark.year, y0: 0, y1: 1,
                          line: {color: "#b55", width: 1, dash: "dot"}});
      layout.annotations.push({x: mark.year, xref: "x", yref: "paper", y: 1 - 0.012 * m,
                               showarrow: false, xanchor: "left", yanchor: "top",
                               text: mark.label, font: {size: 10, color: "#b55"}});
    });
    return {data: data, layout: layout};
  }

  function buildCharts() {
    const holder = byId("charts");
    chart = document.createElement("div");
    chart.className = "plotly-graph-div chart";
    chart.id = "chart";
    const notes = document.createElement("dl");
    notes.className = "caption";
    for (const name of CHARTED) {
      const term = document.createElement("dt");
      term.textContent = `${name} (${outcomes[name].unit})`;
      const text = document.createElement("dd");
      text.textContent = outcomes[name].description;
      notes.append(term, text);
    }
    holder.append(chart, notes);
  }

  // ---------------------------------------------------------------- tables
  function shown(value, outcome) {
    return outcome.fraction ? `${(value * 100).toFixed(1)} %` : number.format(value);
  }

  function difference(value, outcome) {
    const text = outcome.fraction ? `${(value * 100).toFixed(1)} pp` : number.format(value);
    return value > 0 ? `+${text}` : text.replace("-0.0 ", "0.0 ");
  }

  function cell(row, text, numeric) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) { td.className = "num"; }
    row.append(td);
  }

  function showNumbers(run, cluster) {
    const body = byId("outcome-rows");
    body.replaceChildren();
    for (const name of CHARTED) {
      const outcome = outcomes[name];
      const column = `${name}[${cluster}]`;
      const mix = run.columns[column][finalRow];
      const base = baseline.columns[column][finalRow];
      const row = document.createElement("tr");
      cell(row, `${name} (${outcome.unit})`);
      cell(row, shown(base, outcome), true);
      cell(row, shown(mix, outcome), true);
      cell(row, difference(mix - base, outcome), true);
      body.append(row);
    }
    const costs = byId("cost-rows");
    costs.replaceChildren();
    let total = 0, yearly = 0;
    for (const each of spec.clusters) {
      const spent = run.columns[`Cumulative Lever Cost[${each}]`][finalRow];
      const now = run.columns[`Lever Cost[${each}]`][finalRow];
      total += spent;
      yearly += now;
      const row = document.createElement("tr");
      if (each === cluster) { row.className = "chosen"; }
      cell(row, each);
      cell(row, number.format(spent), true);
      cell(row, number.format(now), true);
      costs.append(row);
    }
    const row = document.createElement("tr");
    row.className = "total";
    cell(row, "All clusters");
    cell(row, number.format(total), true);
    cell(row, number.format(yearly), true);
    costs.append(row);
    byId("cost-summary").textContent =
      `${number.format(total)} ${outcomes["Cumulative Lever Cost"].unit} spent by ` +
      `${finalYear} over all clusters; ${number.format(yearly)} ` +
      `${outcomes["Lever Cost"].unit} in ${finalYear}.`;
  }

  // ---------------------------------------------------------------- redraw
  // A change while a redraw runs is served once that redraw ends; the timing runs from the
  // first change not yet served to its charts drawn.
  let busy = null;
  let since = null;

  function changed() {
    if (since === null) { since = performance.now(); }
    if (!busy) {
      busy = redraw().finally(() => { busy = null; });
      return busy;
    }
    return busy.then(() => (since === null ? busy : changed()));
  }

  async function redraw() {
    const started = since;
    since = null;
    const status = byId("status");
    const chosen = settings();
    const cluster = byId("cluster").value;
    let run, band = null;
    const t0 = performance.now();
    try {
      run = model.run(chosen);
    } catch (error) {
      status.textContent = error.message;
      status.className = "error";
      return;
    }
    const t1 = performance.now();
    if (spec.sample && byId("bands").checked) { band = model.band(chosen); }
    const t2 = performance.now();
    const marks = model.levers.filter((lever) => chosen.levers[lever.id]).map((lever) => (
      {year: chosen.levers[lever.id].startYear, label: `L${lever.number}`}));
    showNumbers(run, cluster);
    const {data, layout} = figure(cluster, run, band, marks);
    await Plotly.react(chart, data, layout, {displaylogo: false, responsive: true});
    const t3 = performance.now();
    const timing = {runMs: t1 - t0, bandMs: band ? t2 - t1 : null, drawMs: t3 - t2,
                    totalMs: t3 - started};
    explorer.timing = timing;
    explorer.redraws += 1;
    status.className = "";
    status.textContent = `Ran in ${timing.runMs.toFixed(1)} ms` +
      (band ? `, bands (${band.members} runs) in ${timing.bandMs.toFixed(0)} ms` : "") +
      `, drawn in ${timing.drawMs.toFixed(0)} ms; ${timing.totalMs.toFixed(0)} ms ` +
      "from the change to the charts.";
  }

  const explorer = {
    settings: settings,
    apply: apply,
    timing: null,
    chart: () => chart,
    redraws: 0,
    cluster: () => byId("cluster").value,
    redraw: changed,
    // True while a change waits for its charts (tests wait for false).
    pending: () => busy !== null || since !== null,
  };
  window.sdExplorer = explorer;

  byId("fit-label").textContent = spec.fit;
  buildControls();
  buildCharts();
  explorer.ready = apply(baselineSettings);
  byId("preset").value = model.presets.baseline ? "baseline" : "";
})();
