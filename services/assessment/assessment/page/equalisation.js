// 均等化 (equalisation): for a chosen unit and period, each indicator's rate for migrants
// (流动人口) beside the registered population's (户籍人口) and the gap in points, so a district
// officer sees where migrants are worse served. Its own section and controls: it reads the
// page's period selects and language but keeps out of the league table's code (app.js).
"use strict";

(() => {
  const WORDS = {
    zh: {
      heading: "均等化：流动人口与户籍人口", unit: "单位", show: "查看", indicator: "指标",
      migrant: "流动人口", registered: "户籍人口", gap: "差距（百分点）", target: "目标",
      lagging: "流动人口落后", ahead: "流动人口不落后", none: "无法比较",
      hint: "差距 = 流动人口服务率 − 户籍人口服务率；负数（红色）表示流动人口获得的服务少于户籍人口。",
      summary: "{n} 项指标中流动人口落后 {lag} 项", failed: "无法取得均等化数据：{why}",
    },
    en: {
      heading: "Equalisation: migrants and the registered population", unit: "Unit", show: "Show", indicator: "Indicator",
      migrant: "Migrants", registered: "Registered population", gap: "Gap (points)", target: "Target",
      lagging: "migrants lag", ahead: "migrants not behind", none: "cannot compare",
      hint: "Gap = migrants' rate − the registered population's rate; negative (red): migrants are served less.",
      summary: "migrants lag in {lag} of {n} indicators", failed: "Could not load the equalisation figures: {why}",
    },
  };
  const $ = (id) => document.getElementById(id);
  const lang = () => (localStorage.getItem("assessment.lang") === "en" ? "en" : "zh");
  const t = (key, args = {}) => WORDS[lang()][key].replace(/\{(\w+)\}/g, (_, k) => args[k] ?? "");
  const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  const pct = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);
  let units = null;
  let answer = null;

  function period() {
    const year = $("year") && $("year").value;
    const part = $("part") ? $("part").value : "";
    return year ? (part ? `${year}-${part}` : year) : "2013";
  }

  function clocks() {
    const q = new URLSearchParams();
    if ($("as-of") && $("as-of").value) q.set("as_of", $("as-of").value);
    if ($("known-at") && $("known-at").value) q.set("known_at", $("known-at").value);
    return q;
  }

  function unitOptions() {
    const name = (u) => (lang() === "zh" ? u.name : u.name_en);
    const chosen = $("eq-unit").value || units.district.code;
    const options = [`<option value="${units.district.code}">${esc(name(units.district))}</option>`];
    for (const town of units.towns) {
      options.push(`<option value="${town.code}">${esc(name(town))}</option>`);
      for (const village of town.villages) {
        options.push(`<option value="${village.code}">　${esc(name(village))}</option>`);
      }
    }
    $("eq-unit").innerHTML = options.join("");
    $("eq-unit").value = chosen;
  }

  function figure(f) {
    if (!f || f.denominator === 0) return `<span class="eq-figure grey">—</span>`;
    return `<span class="eq-figure ${f.band}">${pct(f.rate)}</span><small>${f.numerator}/${f.denominator}</small>`;
  }

  function bar(f, kind) {
    const width = f && f.rate !== null ? Math.round(f.rate * 100) : 0;
    return `<span class="eq-bar ${kind}" style="width:${width}%"></span>`;
  }

  function render() {
    document.querySelectorAll("[data-eq]").forEach((el) => { el.textContent = t(el.dataset.eq); });
    if (!answer) return;
    const rows = answer.indicators.map((i) => {
      const gap = i.gap_points;
      const verdict = gap === null ? "none" : gap < 0 ? "lagging" : "ahead";
      const shown = gap === null ? "—" : `${gap > 0 ? "+" : ""}${gap.toFixed(1)}`;
      return `<tr data-indicator="${i.id}" data-verdict="${verdict}" class="${verdict}">
        <td class="unit">${esc(lang() === "zh" ? i.name_zh : i.name_en)}</td>
        <td>${(i.target * 100).toFixed(0)}%</td>
        <td>${figure(i.migrant)}</td><td>${figure(i.registered)}</td>
        <td class="eq-bars">${bar(i.migrant, "migrant")}${bar(i.registered, "registered")}</td>
        <td class="eq-gap ${verdict}" title="${t(verdict)}">${shown}</td></tr>`;
    });
    $("eq-table").querySelector("tbody").innerHTML = rows.join("");
    const compared = answer.indicators.filter((i) => i.gap_points !== null);
    const lag = compared.filter((i) => i.gap_points < 0).length;
    const name = lang() === "zh" ? answer.unit.name : answer.unit.name_en;
    $("eq-summary").textContent = `${name} · ${answer.period} · ${t("summary", { n: compared.length, lag })}`;
  }

  async function load() {
    try {
      const response = await authorised(`/api/units/${$("eq-unit").value}/equalisation?period=${period()}&${clocks()}`);
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || response.status);
      answer = body;
      $("eq-error").textContent = "";
    } catch (error) {
      answer = null;
      $("eq-table").querySelector("tbody").innerHTML = "";
      $("eq-error").textContent = t("failed", { why: error.message });
    }
    render();
  }

  let started = false;
  async function start(event) {
    if (!$("equalisation")) return;
    units = event.detail.units;
    unitOptions();
    if (started) { await load(); return; }
    started = true;
    $("eq-show").onclick = load;
    $("eq-unit").onchange = load;
    for (const id of ["year", "part", "as-of", "known-at"]) {
      if ($(id)) $(id).addEventListener("change", () => setTimeout(load, 0));
    }
    // The page's language button (app.js) stores the choice; follow it after its handler ran.
    if ($("lang")) $("lang").addEventListener("click", () => setTimeout(() => { unitOptions(); render(); }, 0));
    await load();
  }

  // app.js says when the caller is signed in: every read needs the bearer token it holds.
  document.addEventListener("assessment:ready", start);
})();
