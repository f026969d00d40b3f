// 12345 operator console: login, the station's screen-pop stream (SSE), the pre-filled ticket form,
// one-click confirm & dispatch, knowledge-base answers (即办件) and the 待回拨 list. No framework, no CDN.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("hotline.token") || "", user: null, options: null,
                source: null, pop: null };
window.consolePops = [];  // [{ticket_id, picked_up_at_ms, shown_at_ms}] read by tests and bench/screen_pop.py

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) { logout(); throw new Error("请重新登录"); }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error && data.error.message) || (data.detail && JSON.stringify(data.detail)) || r.statusText);
  return data;
}

const STATUS = { accepted: "受理", dispatched: "已派单", signed: "已签收", in_progress: "办理中",
  result_reported: "已反馈", callback_pending: "待回访", closed: "办结", returned_pending_review: "退单待审" };
const statusText = (s) => STATUS[s] || s;

const withToken = (url) => `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(state.token)}`;

// --- login -------------------------------------------------------------------------------------
$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $("login-error").textContent = "";
  try {
    const res = await api("/api/auth/login", { method: "POST", body: { username: f.get("username"), password: f.get("password") } });
    state.token = res.token;
    sessionStorage.setItem("hotline.token", res.token);
    await start();
  } catch (e) { $("login-error").textContent = `登录失败：${e.message}`; }
});

function logout() {
  if (state.source) state.source.close();
  state.token = ""; state.source = null;
  sessionStorage.removeItem("hotline.token");
  $("desk").hidden = true; $("who").hidden = true; $("login-view").hidden = false;
}
$("logout").addEventListener("click", () => {
  api("/api/auth/logout", { method: "POST" }).catch(() => {}).finally(logout);
});

async function start() {
  const me = await api("/api/auth/me");
  state.user = me;
  state.options = await api("/api/console/options");
  $("who-name").textContent = `${me.username}（${me.role}）`;
  fillSelect($("f-type"), state.options.types.map((t) => [t, t]));
  fillSelect($("f-category"), state.options.categories.map((c) => [c, c]));
  fillSelect($("f-department"), state.options.departments.map((d) => [d.id, d.name]));
  const st = $("station");
  fillSelect(st, state.options.stations.map((s) => [s, s]));
  const wanted = new URLSearchParams(location.search).get("station") || localStorage.getItem("hotline.station");
  if (wanted && state.options.stations.includes(wanted)) st.value = wanted;
  $("login-view").hidden = true; $("desk").hidden = false; $("who").hidden = false;
  connect();
  loadCallbacks();
}

function fillSelect(select, pairs) {
  select.replaceChildren(...pairs.map(([v, label]) => el("option", { value: v }, label)));
}

$("station").addEventListener("change", () => {
  localStorage.setItem("hotline.station", $("station").value);
  connect();
});

// --- the pop stream ----------------------------------------------------------------------------
function connect() {
  if (state.source) state.source.close();
  const station = $("station").value;
  const src = new EventSource(withToken(`/api/console/stream?station=${encodeURIComponent(station)}`));
  state.source = src;
  setLink(false, "连接中");
  src.onopen = () => setLink(true, `${station} 在线`);
  src.onerror = () => setLink(false, "重连中");  // EventSource reconnects by itself (retry: 1000)
  src.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.kind === "pop") showPop(msg);
    else if (msg.kind === "call_ended") callEnded(msg);
    else if (msg.kind === "callbacks") loadCallbacks();
  };
}

function setLink(on, text) {
  const b = $("link");
  b.textContent = text; b.className = `badge ${on ? "on" : "off"}`;
}

function showPop(pop) {
  state.pop = pop;
  const t = pop.ticket;
  $("waiting").hidden = true;
  $("ticket-form").hidden = false;
  $("result").textContent = "";
  $("dispatch").disabled = false;
  $("t-number").textContent = t ? t.number : "（新工单）";
  $("t-status").textContent = t ? statusText(t.status) : "无工单";
  $("t-caller").textContent = pop.caller_number || "未知号码";
  $("t-call").textContent = pop.call_ended ? "已挂断" : "通话中";
  $("t-call").className = pop.call_ended ? "badge" : "badge on";
  const flags = [];
  if (t && t.confirmed_by_caller) flags.push(el("span", { class: "badge on" }, "来电人已确认"));
  if (t && t.incomplete) flags.push(el("span", { class: "badge warn" }, "未说完挂断"));
  if (t && t.needs_transcription) flags.push(el("span", { class: "badge warn" }, "需人工转写"));
  if (t && t.emergency) flags.push(el("span", { class: "badge off" }, `紧急:${t.emergency}`));
  if (pop.missed_callback) flags.push(el("span", { class: "badge warn" }, "待回拨"));
  $("t-flags").replaceChildren(...flags);
  $("f-transcript").value = t ? t.transcript : "";
  $("f-summary").value = t ? t.summary : "";
  $("f-place").value = t ? t.place : "";
  $("f-note").value = "";
  if (t && t.type) $("f-type").value = t.type;
  if (t && t.category) $("f-category").value = t.category;
  renderCandidates(t ? t.department_candidates : [], t ? t.department_id : "");
  renderRecordings(pop.recordings);
  renderEarlier(pop.earlier);
  renderKb(pop.kb);
  $("pop").dataset.ticketId = t ? String(t.id) : "";
  const entry = { ticket_id: t ? t.id : null, picked_up_at_ms: pop.picked_up_at * 1000, shown_at_ms: Date.now() };
  window.consolePops.push(entry);
  requestAnimationFrame(() => { entry.painted_at_ms = Date.now(); $("pop").dataset.shownAt = String(entry.painted_at_ms); });
}

function renderCandidates(cands, current) {
  const box = $("f-candidates");
  box.replaceChildren(...cands.map((c, i) => el("label", { class: "cand" },
    el("input", { type: "radio", name: "cand", value: c.id, checked: c.id === current || (!current && i === 0),
                  onchange: () => { $("f-department").value = c.id; } }),
    `${c.name} ${(c.confidence * 100).toFixed(0)}%`)));
  if (!cands.length) box.append(el("span", { class: "muted" }, "无推荐，请选择承办单位"));
  if (current) $("f-department").value = current;
  else if (cands.length) $("f-department").value = cands[0].id;
}

$("f-department").addEventListener("change", () => {
  for (const r of document.querySelectorAll("input[name=cand]")) r.checked = r.value === $("f-department").value;
});

function renderRecordings(recs) {
  $("recordings").replaceChildren(...recs.map((r) => el("div", {},
    el("span", { class: "muted" }, `录音 ${r.turn}（${r.purpose}，${r.audio_seconds.toFixed(1)} 秒）${r.transcript ? "：" + r.transcript : ""}`),
    el("audio", { controls: true, preload: "none", src: withToken(r.url), dataset: { testid: "recording" } }))));
}

function renderEarlier(items) {
  const rows = items.map((t) => el("tr", {}, el("td", {}, t.number), el("td", {}, t.created_at.slice(0, 10)),
    el("td", {}, t.type), el("td", {}, t.summary || ""), el("td", {}, statusText(t.status))));
  $("earlier").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { class: "muted" }, "无历史工单"))]));
}

function renderKb(hits) {
  $("kb").replaceChildren(...hits.map((h) => el("li", { dataset: { kbId: String(h.id) } },
    el("strong", {}, h.title), el("div", {}, h.answer),
    el("button", { type: "button", class: "small", dataset: { testid: "kb-answer" }, onclick: () => submitTicket("close_on_call", h.id) },
      "已当场答复 → 即办件"))));
  if (!hits.length) $("kb").append(el("li", { class: "muted" }, "无匹配答案"));
}

$("kb-search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = $("kb-q").value.trim();
  if (!q) return;
  const hits = await api(`/api/kb/search?q=${encodeURIComponent(q)}`);
  renderKb(hits.map((h) => ({ ...h.entry, score: h.score, matched: h.matched })));
});

function callEnded(msg) {
  if (state.pop && state.pop.caller_uniqueid === msg.caller_uniqueid) {
    $("t-call").textContent = "已挂断"; $("t-call").className = "badge";
  }
}

// --- one click ---------------------------------------------------------------------------------
$("ticket-form").addEventListener("submit", (ev) => { ev.preventDefault(); submitTicket("dispatch", null); });

async function submitTicket(action, kbEntryId) {
  const pop = state.pop;
  if (!pop) return;
  const body = {
    transcript: $("f-transcript").value, summary: $("f-summary").value, type: $("f-type").value,
    category: $("f-category").value, department_id: $("f-department").value, place: $("f-place").value,
    note: $("f-note").value, action, kb_entry_id: kbEntryId,
    caller_number: pop.caller_number || "", caller_uniqueid: pop.caller_uniqueid || "",
  };
  $("dispatch").disabled = true;
  try {
    const res = pop.ticket
      ? await api(`/api/console/tickets/${pop.ticket.id}/confirm`, { method: "POST", body })
      : await api("/api/console/tickets", { method: "POST", body });
    $("result").textContent = action === "dispatch"
      ? `已派单：${res.number} → ${$("f-department").selectedOptions[0].textContent}${res.changed ? "（已记录修改）" : ""}`
      : `已办结（即办件）：${res.number}`;
    $("result").dataset.status = res.status;
    $("t-status").textContent = statusText(res.status);
    loadCallbacks();
  } catch (e) {
    $("result").textContent = `失败：${e.message}`;
    $("dispatch").disabled = false;
  }
}

// --- 待回拨 -------------------------------------------------------------------------------------
async function loadCallbacks() {
  let items = [];
  try { items = await api("/api/console/callbacks"); } catch (e) { return; }
  $("callbacks").replaceChildren(...items.map((t) => el("li", { dataset: { ticketId: String(t.id) } },
    `${t.number} ${t.caller_number} ${t.summary || t.transcript || "（未说明问题）"} `,
    el("span", { class: "muted" }, t.callback_due_by ? `请于 ${new Date(t.callback_due_by).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false })} 前回拨` : ""),
    " ",
    el("button", { type: "button", class: "small", onclick: async () => {
      await api(`/api/console/callbacks/${t.id}/done`, { method: "POST", body: { note: "" } });
      loadCallbacks();
    } }, "已回拨"))));
  if (!items.length) $("callbacks").append(el("li", { class: "muted" }, "无待回拨"));
}
$("cb-refresh").addEventListener("click", loadCallbacks);
setInterval(() => { if (state.token && !$("desk").hidden) loadCallbacks(); }, 30000);

if (state.token) start().catch(logout);
