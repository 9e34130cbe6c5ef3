// The network on record (服务管理网络) for the page's year: a unit's staff (专职管理员, 协管员),
// training person-times, association activities and their participants, the units below it,
// and the district's totals beside the source document's 177 / 927 / 13 / 400+ (docs/network.md).
// The figures are the services log's; the assessment passes GET /api/network through with the
// signed-in token (app.js's authorised()), so the page keeps one origin.
"use strict";

(() => {
  const WORDS = {
    zh: {
      heading: "服务管理网络", unit: "单位", show: "查看", export_csv: "导出网络 CSV", managers: "专职管理员",
      assistants: "协管员", trainings: "培训（次）", training_person_times: "培训人次", trained_staff: "受训在册人员",
      association_activities: "协会活动", association_participants: "参加人数", associations_active: "开展活动的协会",
      figure: "项目", district: "全区", document: "文件所载", verdict: "", met: "达到", short: "未达到",
      below: "下辖单位", as_of: "人员截至 {day}", failed: "无法取得网络数据：{why}", off: "本服务未接入服务日志",
      hint: "文件：专职管理员177人、协管员927人（第11行），计生协会13个（第19行），每年培训400余人次（第11行）。参加人数是与“会员”最接近的记录。",
    },
    en: {
      heading: "The service network", unit: "Unit", show: "Show", export_csv: "Export network CSV", managers: "Full-time managers",
      assistants: "Assistants", trainings: "Trainings", training_person_times: "Training person-times",
      trained_staff: "Staff trained", association_activities: "Association activities",
      association_participants: "Participants", associations_active: "Associations active", figure: "Figure",
      district: "District", document: "Source document", verdict: "", met: "reached", short: "short",
      below: "Units below", as_of: "staff as of {day}", failed: "Could not load the network: {why}",
      off: "this assessment is not connected to the services log",
      hint: "Document: 177 managers, 927 assistants (line 11), 13 associations (line 19), 400+ training person-times a year (line 11). Participants are the nearest record to members.",
    },
  };
  const COLUMNS = ["managers", "assistants", "trainings", "training_person_times", "trained_staff",
    "association_activities", "association_participants", "associations_active"];
  const $ = (id) => document.getElementById(id);
  const lang = () => (localStorage.getItem("assessment.lang") === "en" ? "en" : "zh");
  const t = (key, args = {}) => (WORDS[lang()][key] ?? key).replace(/\{(\w+)\}/g, (_, k) => args[k] ?? "");
  const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  let units = null;
  let answer = null;

  const year = () => ($("year") && $("year").value) || "2013";
  const unitName = (u) => (lang() === "zh" ? u.name : u.name_en);
  const names = () => {
    const all = { [units.district.code]: units.district };
    for (const town of units.towns) {
      all[town.code] = town;
      for (const village of town.villages) all[village.code] = village;
    }
    return all;
  };
  const below = (code) => (code === units.district.code ? units.towns
    : (units.towns.find((town) => town.code === code) || { villages: [] }).villages);

  function query() {
    const q = new URLSearchParams({ year: year() });
    // The page's "as of" date counts the staff on that day when it falls in the year shown.
    const asOf = $("as-of") && $("as-of").value;
    if (asOf && asOf.startsWith(`${year()}-`)) q.set("as_of", asOf);
    return q;
  }

  function unitOptions() {
    const chosen = $("nw-unit").value || units.district.code;
    const options = [`<option value="${units.district.code}">${esc(unitName(units.district))}</option>`];
    for (const town of units.towns) {
      options.push(`<option value="${town.code}">${esc(unitName(town))}</option>`);
      for (const village of town.villages) options.push(`<option value="${village.code}">　${esc(unitName(village))}</option>`);
    }
    $("nw-unit").innerHTML = options.join("");
    $("nw-unit").value = chosen;
  }

  function row(figures, label) {
    return `<tr data-unit="${figures.unit_code}"><td class="unit">${esc(label)}</td>
      ${COLUMNS.map((c) => `<td class="${c}">${figures[c]}</td>`).join("")}</tr>`;
  }

  // The district's totals against the document's figures: reached (≥) or short.
  function besideDocument() {
    const d = answer.district, doc = answer.document;
    const lines = [["managers", d.managers, doc.managers], ["assistants", d.assistants, doc.assistants],
      ["associations_active", d.associations_active, doc.associations],
      ["training_person_times", d.training_person_times, doc.training_person_times_at_least, "≥"]];
    const rows = lines.map(([key, ours, theirs, sign = ""]) => {
      const verdict = ours >= theirs ? "met" : "short";
      return `<tr data-figure="${key}" data-verdict="${verdict}"><td>${t(key)}</td><td class="ours">${ours}</td>
        <td class="theirs">${sign}${theirs}</td><td class="${verdict}">${t(verdict)}</td></tr>`;
    });
    return `<table id="nw-document"><thead><tr><th>${t("figure")}</th><th>${t("district")}</th><th>${t("document")}</th>
      <th></th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  }

  function render() {
    if (!answer) return;
    const code = $("nw-unit").value, all = names();
    const byCode = Object.fromEntries(answer.units.map((u) => [u.unit_code, u]));
    const head = `<thead><tr><th>${t("unit")}</th>${COLUMNS.map((c) => `<th>${t(c)}</th>`).join("")}</tr></thead>`;
    const chosen = byCode[code] || (code === units.district.code ? answer.district : null);
    const rows = chosen ? [row(chosen, unitName(all[code]))] : [];
    const children = below(code).filter((u) => byCode[u.code]).map((u) => row(byCode[u.code], `　${unitName(u)}`));
    $("nw-units").innerHTML = `${head}<tbody>${rows.join("")}${children.join("")}</tbody>`;
    $("nw-beside").innerHTML = besideDocument();
    $("nw-as-of").textContent = answer.as_of ? t("as_of", { day: answer.as_of }) : "";
  }

  async function load() {
    try {
      const response = await authorised(`/api/network?${query()}`);
      const body = await response.json();
      if (response.status === 503) throw new Error(t("off"));
      if (!response.ok) throw new Error(body.detail || response.status);
      answer = body;
      $("nw-error").textContent = "";
    } catch (error) {
      answer = null;
      $("nw-units").innerHTML = "";
      $("nw-beside").innerHTML = "";
      $("nw-error").textContent = t("failed", { why: error.message });
    }
    render();
  }

  function words() {
    document.querySelectorAll("[data-nw]").forEach((el) => { el.textContent = t(el.dataset.nw); });
  }

  let started = false;
  async function start(event) {
    if (!$("network")) return;
    units = event.detail.units;
    words();
    unitOptions();
    if (started) { await load(); return; }
    started = true;
    $("nw-show").onclick = load;
    $("nw-unit").onchange = render;  // the answer holds every unit in scope: no second read
    $("nw-export").onclick = () => download(`/api/network.csv?${query()}`, `network-${year()}.csv`);
    for (const id of ["year", "as-of"]) if ($(id)) $(id).addEventListener("change", () => setTimeout(load, 0));
    if ($("lang")) $("lang").addEventListener("click", () => setTimeout(() => { words(); unitOptions(); render(); }, 0));
    await load();
  }

  // app.js says when the caller is signed in: every read needs the bearer token it holds.
  document.addEventListener("assessment:ready", start);
})();
