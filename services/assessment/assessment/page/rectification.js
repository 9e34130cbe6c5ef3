// A unit's year at a glance (its responsibility letter's targets against its figures, its rank
// over the quarters, its open rectification order) and the district's view of every open order
// with its deadline (docs/rectification.md). Its own section and file: it reads the page's
// year select, language and sign-in (app.js's getJSON) but keeps out of the league table's code.
"use strict";

(() => {
  const WORDS = {
    zh: {
      heading: "全年概览与整改", unit: "单位", show: "查看", letter: "目标责任书", no_letter: "本年度未签订目标责任书",
      indicator: "指标", target: "责任书目标", rate: "完成", met: "达标", short: "未达标", none: "无考核对象",
      ranks: "各季度排名", rank: "第{rank}名（共{of}名）·{score}分", reward: "奖励", penalty: "扣分", veto: "一票否决",
      open_order: "整改", no_order: "无未完成的整改", open_orders: "全区未完成的整改（按期限）", period: "期间",
      status: "状态", round: "次数", deadline: "期限", failed: "无法取得数据：{why}",
      open: "待交方案", plan_submitted: "待审核", returned: "已退回，待重交", accepted: "已通过，待复查", checked: "已复查",
    },
    en: {
      heading: "The year at a glance, and rectification", unit: "Unit", show: "Show", letter: "Responsibility letter",
      no_letter: "No responsibility letter for this year", indicator: "Indicator", target: "Letter's target",
      rate: "Achieved", met: "met", short: "short", none: "nobody to count", ranks: "Rank by quarter",
      rank: "#{rank} of {of} · {score}", reward: "reward", penalty: "penalty", veto: "vetoed", open_order: "Rectification",
      no_order: "No open rectification", open_orders: "Every open rectification order (by deadline)", period: "Period",
      status: "Status", round: "Round", deadline: "Deadline", failed: "Could not load: {why}",
      open: "plan due", plan_submitted: "under review", returned: "returned, due again", accepted: "accepted, check due",
      checked: "checked",
    },
  };
  const $ = (id) => document.getElementById(id);
  const lang = () => (localStorage.getItem("assessment.lang") === "en" ? "en" : "zh");
  const t = (key, args = {}) => (WORDS[lang()][key] ?? key).replace(/\{(\w+)\}/g, (_, k) => args[k] ?? "");
  const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  const pct = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);
  // app.js's reader: it carries the signed-in token.
  const read = (path) => getJSON(path);
  let units = null;
  let byCode = {};

  const year = () => ($("year") && $("year").value) || "2013";
  const name = (code) => (byCode[code] ? (lang() === "zh" ? byCode[code].name : byCode[code].name_en) : code);

  function unitOptions() {
    const chosen = $("rc-unit").value;
    const options = [];
    for (const town of units.towns) {
      options.push(`<option value="${town.code}">${esc(name(town.code))}</option>`);
      for (const village of town.villages) options.push(`<option value="${village.code}">　${esc(name(village.code))}</option>`);
    }
    $("rc-unit").innerHTML = options.join("");
    if (chosen) $("rc-unit").value = chosen;
  }

  async function letter(code) {
    try {
      const answer = await read(`/api/units/${code}/letter?year=${year()}`);
      const rows = answer.comparison.map((line) => {
        const verdict = line.met === null ? "none" : line.met ? "met" : "short";
        return `<tr data-indicator="${esc(line.indicator)}" data-verdict="${verdict}"><td>${esc(line.indicator)}</td>
          <td>${pct(line.target)}</td><td>${pct(line.rate)} <small>${line.numerator}/${line.denominator}</small></td>
          <td class="${verdict}">${t(verdict)}</td></tr>`;
      });
      return `<table id="rc-letter"><thead><tr><th>${t("indicator")}</th><th>${t("target")}</th><th>${t("rate")}</th><th></th></tr></thead>
        <tbody>${rows.join("")}</tbody></table>`;
    } catch (error) {
      return `<p class="note" id="rc-letter">${t("no_letter")}</p>`;
    }
  }

  async function ranks(code) {
    const unit = byCode[code];
    const level = unit.level === "village" ? "village" : "town";
    const parent = level === "village" ? `&parent=${unit.parent}` : "";
    const items = [];
    for (const quarter of ["Q1", "Q2", "Q3", "Q4"]) {
      const board = await read(`/api/scoreboard?period=${year()}-${quarter}&level=${level}${parent}`);
      const row = board.rows.find((r) => r.unit_code === code);
      if (!row) continue;
      const marks = ["reward", "penalty", "veto"].filter((f) => row.flags.includes(f)).map((f) => `<em class="${f}">${t(f)}</em>`);
      const text = row.flags.includes("not_assessed") ? t("none") : t("rank", { rank: row.rank, of: board.rows.length, score: row.score });
      items.push(`<li data-quarter="${quarter}">${year()}-${quarter}：${esc(text)} ${marks.join(" ")}</li>`);
    }
    return `<ol id="rc-ranks">${items.join("")}</ol>`;
  }

  function orderRow(order) {
    return `<tr data-unit="${order.unit_code}" data-status="${order.status}"><td>${esc(name(order.unit_code))}</td>
      <td>${esc(order.period)}</td><td>${t(order.status)}</td><td>${order.round}</td>
      <td class="deadline">${esc(order.next_deadline || "—")}</td></tr>`;
  }

  function ordersTable(id, orders) {
    if (!orders.length) return `<p class="note" id="${id}">${t("no_order")}</p>`;
    return `<table id="${id}"><thead><tr><th>${t("unit")}</th><th>${t("period")}</th><th>${t("status")}</th>
      <th>${t("round")}</th><th>${t("deadline")}</th></tr></thead><tbody>${orders.map(orderRow).join("")}</tbody></table>`;
  }

  async function load() {
    const code = $("rc-unit").value;
    try {
      const [letterHtml, ranksHtml, mine, every] = await Promise.all([
        letter(code), ranks(code),
        read(`/api/rectifications?open=true&unit_code=${code}`), read("/api/rectifications?open=true"),
      ]);
      $("rc-year").innerHTML = `<h3>${t("letter")}</h3>${letterHtml}<h3>${t("ranks")}</h3>${ranksHtml}
        <h3>${t("open_order")}</h3>${ordersTable("rc-mine", mine)}`;
      $("rc-district").innerHTML = ordersTable("rc-open", every);
      $("rc-error").textContent = "";
    } catch (error) {
      $("rc-error").textContent = t("failed", { why: error.message });
    }
  }

  function words() {
    document.querySelectorAll("[data-rc]").forEach((el) => { el.textContent = t(el.dataset.rc); });
  }

  let started = false;
  async function start(event) {
    if (!$("rectification")) return;
    units = event.detail.units;
    byCode = {};
    for (const town of units.towns) {
      byCode[town.code] = { ...town, level: "town" };
      for (const village of town.villages) byCode[village.code] = { ...village, level: "village", parent: town.code };
    }
    unitOptions();
    if (started) { await load(); return; }  // signed in again: the same section, read anew
    started = true;
    words();
    $("rc-show").onclick = load;
    $("rc-unit").onchange = load;
    if ($("year")) $("year").addEventListener("change", () => setTimeout(load, 0));
    if ($("lang")) $("lang").addEventListener("click", () => setTimeout(() => { words(); unitOptions(); load(); }, 0));
    await load();
  }

  // app.js says when the caller is signed in and the units are known, as for the page's other
  // sections: asking the API before that would only be refused (and turn the sign-in prompt
  // into "expired").
  document.addEventListener("assessment:ready", start);
})();
