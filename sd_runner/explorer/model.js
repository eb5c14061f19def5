// The model in the page: the compiled kernel (a function, written by
// sd_runner/engine/javascript.py) and its specification (sd_runner/explorer/spec.py).
// Defines createModel(spec, kernel), which gives window.sdModel its methods.
//
// A settings object is what a scenario file says:
//   {levers: {"own-brand": {level: 0.5, startYear: 2018, rampYears: 3}, ...}}
// A lever named in `levers` is pulled (its settings set at `level` of the full programme);
// a lever not named keeps the model's values, as in `sd-runner run`.

function createModel(spec, kernel) {
  "use strict";
  const time = spec.time;
  const saveSteps = Uint8Array.from(time.saveSteps);
  const outSlots = Int32Array.from(spec.outputSlots);
  const leversById = Object.fromEntries(spec.levers.map((lever) => [lever.id, lever]));

  function check(settings) {
    const chosen = (settings && settings.levers) || {};
    for (const [id, value] of Object.entries(chosen)) {
      const lever = leversById[id];
      if (!lever) {
        throw new Error(`unknown lever ${JSON.stringify(id)}; the levers are: ` +
                        spec.levers.map((l) => l.id).join(", "));
      }
      const level = value.level ?? 1;
      if (!(level >= 0 && level <= lever.maxLevel)) {
        throw new Error(`${id}: level ${level} is outside 0-${lever.maxLevel}`);
      }
      const start = value.startYear ?? lever.startYear;
      if (!(start >= time.t0 && start <= time.tf)) {
        throw new Error(`${id}: start year ${start} is outside ${time.t0}-${time.tf}`);
      }
      const ramp = value.rampYears ?? lever.rampYears;
      if (!(ramp >= 0 && ramp <= lever.maxRampYears)) {
        throw new Error(`${id}: ramp years ${ramp} is outside 0-${lever.maxRampYears}`);
      }
    }
    return chosen;
  }

  // The constants of one run: the calibrated values, a posterior member's parameters if
  // asked, then each pulled lever's settings, as sd_runner.inputs.scenarios does.
  function constants(settings, member) {
    const chosen = check(settings);
    const c = Float64Array.from(spec.base);
    if (member !== undefined) {
      const row = spec.sample.members[member];
      spec.sample.indices.forEach((index, k) => { c[index] = row[k]; });
    }
    for (const lever of spec.levers) {
      const value = chosen[lever.id];
      if (value === undefined) { continue; }
      const level = value.level ?? 1;
      for (const setting of lever.settings) {
        const at = setting.default + level * (setting.full - setting.default);
        for (const index of setting.indices) { c[index] = at; }
      }
      const start = value.startYear ?? lever.startYear;
      const ramp = value.rampYears ?? lever.rampYears;
      if (start !== lever.startYear || ramp !== lever.rampYears) {
        c[lever.startIndex] = start;
        c[lever.rampIndex] = ramp;
      }
    }
    return c;
  }

  function runConstants(c) {
    return kernel(c, time.t0, time.dt, time.tf, time.saveper, time.nSteps, saveSteps, outSlots);
  }

  function columns(out) {
    const n = spec.outputs.length;
    const result = {};
    spec.outputs.forEach((name, k) => {
      const column = new Array(time.times.length);
      for (let row = 0; row < column.length; row++) { column[row] = out[row * n + k]; }
      result[name] = column;
    });
    return result;
  }

  // Quantile q of sorted values, numpy's default (linear) rule.
  function quantile(sorted, q) {
    const position = (sorted.length - 1) * q;
    const below = Math.floor(position);
    const above = Math.min(below + 1, sorted.length - 1);
    return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
  }

  return {
    spec: spec,
    levers: spec.levers,
    outputs: spec.outputs,
    presets: spec.presets,
    times: time.times.slice(),
    constants: constants,

    // One run: {time: [...], columns: {"Margin[Apparel]": [...], ...}}.
    run(settings) {
      return {time: time.times.slice(), columns: columns(runConstants(constants(settings)))};
    },

    // The 5 %, 50 % and 95 % quantiles of each output over the first `members` sets of
    // the posterior sample: {time, members, low: {...}, median: {...}, high: {...}}.
    band(settings, members) {
      if (!spec.sample) { throw new Error("this page carries no posterior sample"); }
      const count = Math.min(members ?? spec.sample.members.length, spec.sample.members.length);
      const runs = [];
      for (let member = 0; member < count; member++) {
        runs.push(runConstants(constants(settings, member)));
      }
      const size = runs[0].length;
      const low = new Float64Array(size), median = new Float64Array(size);
      const high = new Float64Array(size), values = new Float64Array(count);
      for (let i = 0; i < size; i++) {
        for (let member = 0; member < count; member++) { values[member] = runs[member][i]; }
        values.sort();
        low[i] = quantile(values, 0.05);
        median[i] = quantile(values, 0.5);
        high[i] = quantile(values, 0.95);
      }
      return {time: time.times.slice(), members: count, low: columns(low),
              median: columns(median), high: columns(high)};
    },

    // The settings as a scenario file that `sd-runner run` reads.
    scenarioToml(settings, name) {
      const chosen = check(settings);
      const lines = [`name = ${JSON.stringify(name || "explorer-mix")}`,
                     'title = "Lever mix from the lever explorer"',
                     `description = ${JSON.stringify("Written by the lever explorer (" +
                                                     spec.fit + ").")}`];
      for (const lever of spec.levers) {
        const value = chosen[lever.id];
        if (value === undefined) { continue; }
        lines.push("", `[levers.${lever.id}]`,
                   `level = ${String(value.level ?? 1)}`,
                   `start_year = ${String(value.startYear ?? lever.startYear)}`,
                   `ramp_years = ${String(value.rampYears ?? lever.rampYears)}`);
      }
      return lines.join("\n") + "\n";
    },
  };
}
