// The assessment's page: the league table (live), drill-down town -> villages -> one
// indicator's trend and explanation, both clocks, exports, Chinese or English. Plain JS.
"use strict";

const WORDS = {
  zh: {
    title: "市中区流动人口基本公共服务均等化考核", subtitle: "年度目标责任制考核 · 覆盖率与排名",
    period: "考核期", whole_year: "全年", as_of: "截至（发生）", known_at: "截至（登记）", now: "现在",
    connecting: "连接中", live: "实时", history: "历史", export_xlsx: "导出 Excel", export_csv: "导出 CSV",
    green: "达标", yellow: "接近目标", red: "未达标", grey: "无考核对象",
    legend_hint: "点击镇街看其村居，点击指标看趋势和明细", trend: "逐月趋势", explain: "计入的人员和事件",
    rank: "排名", change: "变化", unit: "单位", score: "得分", flags: "标记", district: "市中区 · 各镇街",
    villages_of: "{town} · 各村居", target: "目标", served: "已服务", unserved: "未服务",
    counted: "应服务 {d} 人，已服务 {n} 人，服务率 {rate}，目标 {target}，还差 {short} 人",
    nobody: "无考核对象", person: "人员", events: "事件",
    veto: "一票否决", reward: "奖励", bottom: "末位", not_assessed: "无考核对象", penalty: "扣分", rectification_required: "待整改",
    rectification_plan_submitted: "已交整改方案",
    note_now: "现在所知的全部事件。", note_clocks: "只计 {as_of} 前发生、{known_at} 前登记的事件。",
    anytime: "任何时候", lang: "English", no_earlier_rank: "无上期排名",
    occurred: "发生", recorded: "登记", corrected: "已更正", corrects: "更正", withdrawn: "撤销", explain_json: "明细事件（JSON）",
  },
  en: {
    title: "Shizhong District — equalised public services for migrants", subtitle: "Annual target-responsibility assessment · coverage and ranking",
    period: "Period", whole_year: "Whole year", as_of: "As of (occurred)", known_at: "Known at (recorded)", now: "Now",
    connecting: "connecting", live: "live", history: "history", export_xlsx: "Export Excel", export_csv: "Export CSV",
    green: "target met", yellow: "close", red: "below target", grey: "nobody to count",
    legend_hint: "click a town for its villages, an indicator for its trend and explanation", trend: "Month by month",
    explain: "People counted and the events that counted them",
    rank: "Rank", change: "Change", unit: "Unit", score: "Score", flags: "Flags", district: "Shizhong District · towns",
    villages_of: "{town} · villages", target: "target", served: "served", unserved: "not served",
    counted: "{d} to serve, {n} served, rate {rate}, target {target}, {short} short",
    nobody: "nobody to count", person: "person", events: "events",
    veto: "vetoed", reward: "reward", bottom: "bottom", not_assessed: "nobody to count", penalty: "penalty", rectification_required: "must rectify",
    rectification_plan_submitted: "plan submitted",
    note_now: "Everything known now.", note_clocks: "Only events occurred by {as_of} and recorded by {known_at}.",
    anytime: "any time", lang: "中文", no_earlier_rank: "no earlier rank",
    occurred: "occurred", recorded: "recorded", corrected: "corrected", corrects: "corrects", withdrawn: "withdrawn",
    explain_json: "events behind it (JSON)",
  },
};

const state = {
  lang: localStorage.getItem("assessment.lang") || "zh",
  year: null, part: "", level: "town", parent: null, asOf: "", knownAt: "",
  selected: null, // {unit, indicator}
  rules: null, units: null, board: null, ranks: {}, stream: null,
};
const $ = (id) => document.getElementById(id);
const t = (key, args = {}) => (WORDS[state.lang][key] || key).replace(/\{(\w+)\}/g, (_, k) => args[k] ?? "");
const pct = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);
const period = () => (state.part ? `${state.year}-${state.part}` : `${state.year}`);
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

function query(extra = {}) {
  const q = new URLSearchParams({ period: period(), level: state.level, ...extra });
  if (state.parent) q.set("parent", state.parent);
  if (state.asOf) q.set("as_of", state.asOf);
  if (state.knownAt) q.set("known_at", state.knownAt);
  return q;
}

// Signing in: the services read a bearer token from the Authorization header only (never a
// cookie: no cross-site request can carry it). The token is pasted once (`msp token --role
// district`, or the district's sign-in) and kept for this tab only, in sessionStorage.
const TOKEN_KEY = "assessment.token";
const authHeaders = () => {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
};

async function authorised(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
  if (response.status === 401) {
    showSignIn(true);
    throw new Error(`${path}: sign-in required`);
  }
  return response;
}

async function getJSON(path) {
  const response = await authorised(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function showSignIn(expired = false) {
  let box = $("sign-in");
  if (!box) {
    box = document.createElement("form");
    box.id = "sign-in";
    box.className = "sign-in";
    box.innerHTML = `<label><span id="sign-in-label"></span>
      <input id="token" type="password" autocomplete="off" spellcheck="false" size="40"></label>
      <button type="submit" id="sign-in-button"></button>`;
    document.querySelector("header .controls").prepend(box);
    box.onsubmit = (event) => {
      event.preventDefault();
      const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      box.hidden = true;
      start();
    };
  }
  $("sign-in-label").textContent = state.lang === "zh"
    ? (expired ? "登录已失效，请粘贴新的令牌" : "粘贴令牌登录（msp token --role district）")
    : (expired ? "Signed out: paste a new token" : "Sign in: paste a token (msp token --role district)");
  $("sign-in-button").textContent = state.lang === "zh" ? "登录" : "Sign in";
  if (expired) sessionStorage.removeItem(TOKEN_KEY);
  box.hidden = false;
}

// A download the browser cannot fetch by itself (it would send no token): fetched here, then saved.
async function download(path, name) {
  const response = await authorised(path);
  if (!response.ok) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  // The service names the file (period, level, town); ours is the fallback.
  link.download = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function indicatorName(i) { return state.lang === "zh" ? i.name_zh : i.name_en; }
function unitName(u) { return state.lang === "zh" ? u.name : u.name_en; }
function townByCode(code) { return state.units.towns.find((town) => town.code === code); }

function translateStatic() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("lang").textContent = t("lang");
}

function renderCrumbs() {
  const crumbs = $("crumbs");
  if (!state.parent) { crumbs.textContent = t("district"); return; }
  const town = townByCode(state.parent);
  crumbs.innerHTML = `<a id="to-towns">${esc(t("district"))}</a> › ${esc(t("villages_of", { town: unitName(town) }))}`;
  $("to-towns").onclick = () => { state.level = "town"; state.parent = null; state.selected = null; refresh(); };
}

function renderHead() {
  const indicators = state.rules.indicators;
  $("league").querySelector("thead").innerHTML = `<tr>
    <th>${esc(t("rank"))}</th><th>${esc(t("change"))}</th><th>${esc(t("unit"))}</th><th>${esc(t("score"))}</th>
    <th>${esc(t("flags"))}</th>${indicators.map((i) => `<th title="${esc(t("target"))} ${pct(i.target)}">${esc(indicatorName(i))}<br><small>${esc(t("target"))} ${pct(i.target)}</small></th>`).join("")}
  </tr>`;
}

function changeCell(row) {
  // null: the unit was not assessed in the period before (its first assessed period), not a drop.
  if (row.rank_change === null) return `<span class="change none" title="${esc(t("no_earlier_rank"))}">–</span>`;
  if (row.rank_change > 0) return `<span class="change up">▲${row.rank_change}</span>`;
  if (row.rank_change < 0) return `<span class="change down">▼${-row.rank_change}</span>`;
  return `<span class="change same">＝</span>`;
}

function renderBoard(board) {
  const previous = state.ranks;
  state.board = board;
  state.ranks = Object.fromEntries(board.rows.map((r) => [r.unit_code, r.rank]));
  renderHead();
  const body = $("league").querySelector("tbody");
  body.innerHTML = board.rows.map((row) => {
    const flash = previous[row.unit_code] !== undefined && previous[row.unit_code] !== row.rank ? " flash" : "";
    const name = state.lang === "zh" ? row.unit_name : row.unit_name_en;
    const unit = state.level === "town" ? `<a data-town="${row.unit_code}">${esc(name)}</a>` : esc(name);
    const cells = state.rules.indicators.map((i) => {
      const f = row.indicators[i.id];
      const selected = state.selected && state.selected.unit === row.unit_code && state.selected.indicator === i.id ? " selected" : "";
      return `<td class="indicator ${f.band}${selected}" data-indicator="${i.id}" data-band="${f.band}" data-unit="${row.unit_code}"
        title="${esc(indicatorName(i))}: ${f.numerator}/${f.denominator}"><span class="rate">${pct(f.rate)}</span><span class="nd">${f.numerator}/${f.denominator}</span></td>`;
    }).join("");
    const flags = row.flags.map((f) => `<span class="flag ${f}">${esc(t(f))}</span>`).join("");
    const kind = row.veto ? "vetoed" : row.flags.includes("not_assessed") ? "not-assessed" : "";
    return `<tr data-unit="${row.unit_code}" class="${kind}${flash}">
      <td class="rank">${row.rank === null ? "—" : row.rank}</td><td>${changeCell(row)}</td><td class="unit">${unit}</td>
      <td class="score" title="${row.score === null ? t("not_assessed") : `${row.attainment} − ${row.penalty}`}">${row.score === null ? "—" : row.score.toFixed(2)}</td>
      <td>${flags}</td>${cells}</tr>`;
  }).join("");
  body.querySelectorAll("a[data-town]").forEach((a) => {
    a.onclick = () => { state.level = "village"; state.parent = a.dataset.town; state.selected = null; refresh(); };
  });
  body.querySelectorAll("td.indicator").forEach((td) => {
    td.onclick = () => { state.selected = { unit: td.dataset.unit, indicator: td.dataset.indicator }; renderBoard(state.board); showDetail(); };
  });
  $("clock-note").textContent = state.asOf || state.knownAt
    ? t("note_clocks", { as_of: state.asOf || t("anytime"), known_at: state.knownAt || t("anytime") })
    : t("note_now");
}

function exportLinks() {
  for (const format of ["xlsx", "csv"]) {
    const link = $(`export-${format}`);
    link.href = `/api/scoreboard/export?${query({ format, lang: state.lang })}`;
    link.onclick = (event) => { event.preventDefault(); download(link.href, `scoreboard-${period()}.${format}`); };
  }
}

function setLive(mode) {
  const live = $("live");
  live.className = `live ${mode === "live" ? "on" : mode === "history" ? "history" : ""}`;
  live.textContent = t(mode === "live" ? "live" : mode === "history" ? "history" : "connecting");
}

// Server-sent events through fetch: EventSource cannot send the Authorization header.
function eventStream(path, onEvent, onError) {
  const stop = new AbortController();
  (async () => {
    const response = await authorised(path, { signal: stop.signal, headers: { Accept: "text/event-stream" } });
    if (!response.ok || !response.body) throw new Error(`${path}: ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) type = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) onEvent(type, data.join("\n"));
      }
    }
  })().catch((error) => { if (!stop.signal.aborted) onError(error); });
  return { close: () => stop.abort() };
}

function follow() {
  if (state.stream) { state.stream.close(); state.stream = null; }
  if (state.asOf || state.knownAt) {
    setLive("history");
    getJSON(`/api/scoreboard?${query()}`).then(renderBoard);
    return;
  }
  setLive("connecting");
  const path = `/api/scoreboard/stream?${query()}`;
  const stream = eventStream(path, (type, data) => {
    if (type !== "scoreboard" || state.stream !== stream) return;
    renderBoard(JSON.parse(data));
    setLive("live");
    if (state.selected) showDetail(false);
  }, () => {
    // Like EventSource: reconnect after a pause, unless another view replaced this one.
    setLive("connecting");
    setTimeout(() => { if (state.stream === stream && sessionStorage.getItem(TOKEN_KEY)) follow(); }, 3000);
  });
  state.stream = stream;
}

function clocksQuery() {
  const q = new URLSearchParams();
  if (state.asOf) q.set("as_of", state.asOf);
  if (state.knownAt) q.set("known_at", state.knownAt);
  return q;
}

function trendChart(points, target) {
  const w = 460, h = 200, left = 38, right = 10, top = 12, bottom = 26;
  const x = (i) => left + (i * (w - left - right)) / (points.length - 1);
  const y = (rate) => top + (1 - rate) * (h - top - bottom);
  const line = points
    .map((p, i) => (p.rate === null ? null : `${x(i)},${y(p.rate)}`))
    .filter(Boolean);
  const dots = points.map((p, i) => (p.rate === null ? "" :
    `<circle cx="${x(i)}" cy="${y(p.rate)}" r="3.5" class="dot ${p.band}" fill="var(--${p.band}-ink)"><title>${p.period}: ${pct(p.rate)} (${p.numerator}/${p.denominator})</title></circle>`)).join("");
  const grid = [0, 0.5, 1].map((r) => `<line class="axis" x1="${left}" x2="${w - right}" y1="${y(r)}" y2="${y(r)}"/><text x="2" y="${y(r) + 4}">${r * 100}%</text>`).join("");
  const months = points.map((p, i) => `<text x="${x(i) - 5}" y="${h - 8}">${Number(p.period.slice(5))}</text>`).join("");
  return `<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="trend">
    ${grid}
    <line class="target" x1="${left}" x2="${w - right}" y1="${y(target)}" y2="${y(target)}"><title>${t("target")} ${pct(target)}</title></line>
    ${line.length ? `<polyline class="line" points="${line.join(" ")}"/>` : ""}
    ${dots}${months}</svg>`;
}

async function showDetail(scroll = true) {
  const { unit, indicator } = state.selected;
  const meta = state.rules.indicators.find((i) => i.id === indicator);
  const row = state.board.rows.find((r) => r.unit_code === unit);
  $("detail").hidden = false;
  document.querySelector("main").classList.add("with-detail");
  $("detail-title").textContent = `${state.lang === "zh" ? row.unit_name : row.unit_name_en} · ${indicatorName(meta)} · ${period()}`;
  const [trend, why] = await Promise.all([
    getJSON(`/api/units/${unit}/trend?year=${state.year}&${clocksQuery()}`),
    getJSON(`/api/units/${unit}/explain?indicator=${indicator}&period=${period()}&${clocksQuery()}`),
  ]);
  $("trend").innerHTML = trendChart(trend.indicators[indicator], meta.target);
  $("explain-summary").textContent = why.denominator
    ? t("counted", { d: why.denominator, n: why.numerator, rate: pct(why.rate), target: pct(why.target), short: why.shortfall })
    : t("nobody");
  // The explain API itself, as known with the page's clocks: fetched with the token, then saved.
  const json = $("explain-json");
  json.href = `/api/units/${unit}/explain?indicator=${indicator}&period=${period()}&${clocksQuery()}`;
  json.onclick = (event) => { event.preventDefault(); download(json.href, `explain-${unit}-${indicator}-${period()}.json`); };
  $("explain").innerHTML = why.people.map((p) => `<li>
      <span class="${p.served ? "served" : "unserved"}">${esc(t(p.served ? "served" : "unserved"))}</span>
      ${esc(t("person"))} <code>${esc(p.resident_id.slice(0, 8))}</code> · ${esc(p.unit_code)}
      <ul class="events">${p.events.map(explainedEvent).join("")}</ul>
    </li>`).join("");
  if (scroll) $("detail").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

// One event behind a figure, with both of its dates (a late report shows as a late "recorded");
// a corrected event is struck through and its correction names it and says why.
function explainedEvent(e) {
  const day = (iso) => (iso ? esc(iso.slice(0, 10)) : "—");
  const why = e.role === "correction"
    ? ` · ${esc(t("corrects"))} <code>${esc((e.corrects || "").slice(0, 8))}</code>${e.withdrawn ? ` (${esc(t("withdrawn"))})` : ""}: ${esc(e.reason)}`
    : e.role === "corrected" ? ` · ${esc(t("corrected"))}` : "";
  return `<li class="${esc(e.role)}" data-event="${esc(e.event_id)}"><code title="${esc(e.event_id)}">${esc(e.event_type)} ${esc(e.event_id.slice(0, 8))}</code>
    ${esc(t("occurred"))} ${day(e.occurred_at)} · ${esc(t("recorded"))} ${day(e.recorded_at)}${why}</li>`;
}

function refresh() {
  translateStatic();
  renderCrumbs();
  exportLinks();
  follow();
  if (!state.selected) { $("detail").hidden = true; document.querySelector("main").classList.remove("with-detail"); }
}

async function start() {
  if (!sessionStorage.getItem(TOKEN_KEY)) { showSignIn(); return; }
  [state.rules, state.units] = await Promise.all([getJSON("/api/rules"), getJSON("/api/units")]);
  const years = state.rules.years;
  $("year").innerHTML = years.map((y) => `<option>${y}</option>`).join("");
  state.year = years[years.length - 1];
  $("year").value = state.year;
  $("year").onchange = () => { state.year = Number($("year").value); refresh(); };
  $("part").onchange = () => { state.part = $("part").value; state.selected = null; refresh(); };
  $("as-of").onchange = () => { state.asOf = $("as-of").value; refresh(); if (state.selected) showDetail(false); };
  $("known-at").onchange = () => { state.knownAt = $("known-at").value; refresh(); if (state.selected) showDetail(false); };
  $("now").onclick = () => { state.asOf = state.knownAt = ""; $("as-of").value = $("known-at").value = ""; refresh(); };
  $("lang").onclick = () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("assessment.lang", state.lang);
    refresh();
    if (state.selected) showDetail(false);
  };
  refresh();
  // The page's other sections (their own scripts) start once the caller is signed in and the
  // rules and units are known: they read through authorised() too.
  document.dispatchEvent(new CustomEvent("assessment:ready", { detail: { rules: state.rules, units: state.units } }));
}

start();
