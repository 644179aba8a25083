// hirl session page: polls /api/state, refreshes both camera views at the size they are shown, sends corrections,
// undos, takeovers, labels and held keys. Destructive keys ask first; focus leaves the text box after every send.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
let state = null, held = new Set(), padHeld = new Set(), confirmAction = null, lastPadGrip = false;
const busy = { front: false, top: false };
const FRAME_MS = 250;  // camera refresh period asked of the server (it renders at most max_fps)
const DRIVE = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "r", "v", "g"]);

async function api(path, body) {
  const opts = { headers: { "X-Hirl-Token": token } };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let data = {};
  try { data = await r.json(); } catch (e) { data = { error: "HTTP " + r.status }; }
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}

function say(text, ok) {
  const m = $("message");
  m.textContent = text;
  m.className = ok ? "ok" : "error";
}

const teleop = () => state && state.mode === "teleop";
const driving = () => state && (teleop() || state.takeover_active);
const running = () => state && ["running", "paused", "waiting"].includes(state.phase) && !state.saved;

function cell(tr, v) { const td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td); return td; }

function phaseText(s) {
  if (s.error) return "error";
  if (s.phase === "ready") return "ready: press Enter to start";
  if (s.phase === "waiting") return "waiting for the first label";
  if (s.phase === "finishing") return "finishing: " + ((s.report && s.report.stage) || "");
  return s.phase;
}

function renderTask(s) {
  const n = (s.completed || []).length;  // subtasks are done in order: the first n are done, the next is due
  $("task").replaceChildren(...(s.task || []).map((t, i) => {
    const li = document.createElement("li");
    li.textContent = t + (i === n && s.current ? "  \u2190 due now" : "");
    li.className = i < n ? "done" : i === n ? "current" : "";
    return li;
  }));
}

function renderHistory(s) {
  const rows = (s.history || []).slice().reverse().map((h) => {
    const tr = document.createElement("tr");
    tr.className = h.status;
    cell(tr, h.episode + "." + h.step);
    cell(tr, h.kind === "takeover" ? "takeover " + (h.seconds ?? "") + " s" : "language");
    cell(tr, h.kind === "takeover" ? "(driven)" : h.corrected);
    cell(tr, h.skill);
    cell(tr, h.kind === "takeover" ? "-" : (h.similarity ?? 1).toFixed(2) + " " + (h.how || ""));
    cell(tr, h.status + (h.pending ? " (pending)" : ""));
    const td = document.createElement("td");
    if (h.status === "active") {
      const b = document.createElement("button");
      b.textContent = "undo";
      b.className = "undo";
      b.addEventListener("click", () => undo(h.id));
      td.appendChild(b);
    }
    tr.appendChild(td);
    return tr;
  });
  $("history").tBodies[0].replaceChildren(...rows);
}

function renderReport(r) {
  const box = $("report"), body = $("report-body");
  if (!r) { box.hidden = true; return; }
  if (box.hidden) box.scrollIntoView({ block: "start" });  // the first time it appears: bring it into view
  box.hidden = false;
  const lines = [];
  const s = r.summary || {};
  lines.push(["stage", r.stage || "-"]);
  lines.push(["episodes", (s.episodes ?? "-") + " (env success " + (s.env_success ?? "-") + ", your success " +
    (s.human_success ?? "-") + ")"]);
  lines.push(["interventions", (s.corrections ?? 0) + " corrections, " + (s.takeovers ?? 0) + " takeovers (" +
    (s.takeover_seconds ?? 0) + " s); " + (s.undone ?? 0) + " undone, " + (s.replaced ?? 0) + " replaced"]);
  lines.push(["your time", ((s.attention_seconds ?? 0) / 60).toFixed(1) + " min of attention"]);
  if (r.before && r.after) {
    const f = (m) => (100 * m.success_rate).toFixed(0) + "% full chains, " + m.avg_chain_length.toFixed(2) + " subtasks";
    lines.push(["before", f(r.before)]);
    lines.push(["after", f(r.after)]);
    if (r.effort) lines.push(["gain", (100 * r.effort.success_gain).toFixed(0) + " points, " +
      (100 * r.effort.success_gain_per_human_minute).toFixed(1) + " points per minute of your time"]);
  }
  if (r.note) lines.push(["note", r.note]);
  const table = document.createElement("table");
  for (const [k, v] of lines) { const tr = document.createElement("tr"); cell(tr, k); cell(tr, v); table.appendChild(tr); }
  body.replaceChildren(table);
}

function render(s) {
  state = s;
  $("mode").textContent = teleop() ? "teleoperation" : "correction session";
  $("phase").textContent = phaseText(s);
  $("phase").className = "pill " + s.phase;
  $("pause").textContent = s.paused ? "resume" : "pause";
  $("start-overlay").hidden = s.phase !== "ready";
  $("episode-info").textContent = "episode " + s.episode + ", step " + (s.step ?? 0);
  $("speed-info").textContent = "speed " + s.speed + "x" + (s.speed < 1 ? " (slow motion)" : "");
  $("attention").textContent = "your time " + ((s.attention_seconds || 0) / 60).toFixed(1) + " min";
  renderTask(s);
  const g = s.subgoal;
  $("subgoal").textContent = g ? g.text : "-";
  $("subgoal-source").textContent = g ? g.source + (g.reason ? " / " + g.reason : "") : "";
  $("subgoal-source").className = "pill " + (g ? g.source : "");
  $("subgoal-source").hidden = !g;
  $("subgoal-age").textContent = g ? "for " + ((g.age_steps || 0) * 0.02).toFixed(1) + " s" : "";
  $("takeover").hidden = teleop();
  $("takeover").className = s.takeover_active ? "on" : "";
  $("takeover").textContent = s.takeover_active ? "hand back (t)" : "take over (t)";
  $("drive-help").hidden = !driving();
  $("keys").textContent = (s.keys || []).join(" ") || "-";
  $("grip").textContent = s.gripper_closed ? "closed" : "open";
  $("clamped").textContent = s.clamped ? " (stopped at the edge of the view)" : "";
  $("input-label").textContent = teleop() ? "label the next segment with a known skill (l to type, Enter sends)"
    : "correction (c to type, Enter sends, Esc leaves the box)";
  $("add-skill").hidden = !teleop();
  const list = $("skills"), skills = s.skills || [];
  if (list.childElementCount !== skills.length) {
    list.replaceChildren(...skills.map((k) => { const o = document.createElement("option"); o.value = k; return o; }));
  }
  const ended = $("ended");
  ended.hidden = !s.end_reason;
  if (s.end_reason) {
    const over = ["finishing", "finished"].includes(s.phase) || s.report;
    ended.textContent = "episode " + s.episode + ": " + s.end_reason + ". " + (over ? "The session is finished."
      : s.saved ? "Saved. Press n for the next episode."
        : "Mark it with S (success) or F (failure), or press n for the next episode.");
  }
  const m = $("match");
  if (!s.pending && m.textContent.includes("pending until")) m.textContent = m.textContent.replace(
    "pending until you step or resume", "executed");
  renderHistory(s);
  const eps = s.episodes || [];
  const envOk = eps.filter((e) => e.env_success).length, youOk = eps.filter((e) => e.human_label === "success").length;
  const counts = teleop() ? (s.labels || 0) + " labels"
    : (s.corrections ?? 0) + " corrections, " + (s.takeovers ?? 0) + " takeovers (" + (s.takeover_seconds ?? 0) + " s)";
  $("summary").textContent = eps.length + " episodes finished, env success " + envOk + ", your success " + youOk + ", " +
    counts + (s.pending ? "; pending: " + s.pending : "");
  $("episodes").tBodies[0].replaceChildren(...eps.slice(-15).reverse().map((e) => {
    const tr = document.createElement("tr");
    for (const v of [e.episode, e.end_reason || "-", e.env_success ? "success" : "fail", e.human_label || "-",
      e.chain_length, e.corrections ?? "-", e.takeovers ?? "-"]) cell(tr, v);
    return tr;
  }));
  renderReport(s.report);
  if (s.error) say("session error: " + s.error, false);
}

async function poll() {
  try { render(await api("/api/state")); } catch (e) { $("phase").textContent = state && state.report ? "report (server closed)" : "disconnected"; }
  setTimeout(poll, 250);
}

function refreshFrame(view, imgId) {
  const img = $(imgId);
  if (busy[view] || !img.offsetParent) return;
  busy[view] = true;
  const side = Math.round(img.clientWidth * (window.devicePixelRatio || 1));
  const next = new Image();
  next.onload = () => { img.src = next.src; busy[view] = false; };
  next.onerror = () => { busy[view] = false; };
  next.src = "/api/frame.jpg?view=" + view + "&w=" + side + "&h=" + side + "&t=" + Date.now() +
    (token ? "&token=" + encodeURIComponent(token) : "");
}

async function control(action) {
  try { say((await api("/api/control", { action })).message, true); } catch (e) { say(e.message, false); }
}

async function undo(id) {
  try { say((await api("/api/undo", { id })).message, true); } catch (e) { say(e.message, false); }
}

function undoLast() { undo("last"); }  // the server knows the newest live entry (the page's poll may lag)

async function toggleTakeover() {
  if (!state || teleop()) return;
  try {
    const r = await api("/api/takeover", { on: !state.takeover_active });
    held.clear();
    say(r.message, true);
  } catch (e) { say(e.message, false); }
}

function ask(text, action) {
  confirmAction = action;
  $("confirm-text").textContent = text;
  $("confirm").hidden = false;
  $("confirm-yes").focus();
}

function closeConfirm(yes) {
  const action = confirmAction;
  confirmAction = null;
  $("confirm").hidden = true;
  document.activeElement && document.activeElement.blur();
  if (yes && action) action();
}

// destructive actions: ask first while an episode runs (an ended one is already saved)
function verdict(v) {
  if (running()) ask("End episode " + state.episode + " now as a " + v + "? It is saved; the next one starts only at n.",
    () => control(v));
  else control(v);
}
function nextEpisode() {
  if (running()) ask("End episode " + state.episode + " now (it is saved) and start the next one?", () => control("next"));
  else control("next");
}
function finishSession() {
  ask("Finish the session? Episodes stop; the levels are fine-tuned on your interventions and evaluated.",
    () => control("finish"));
}

async function submit(ev, newSkill) {
  if (ev) ev.preventDefault();
  const box = $("correction"), text = box.value;
  box.blur();  // focus leaves the box at once (not when the answer comes): the next keys are shortcuts again
  try {
    const r = teleop() ? await api("/api/label", { text, new_skill: !!newSkill }) : await api("/api/correct", { text });
    say(r.message, true);
    box.value = "";
    const m = $("match");
    if (!teleop()) {
      m.hidden = false;
      m.textContent = "\u201c" + r.text + "\u201d \u2192 " + r.skill + " (" + r.how + ", similarity " +
        Number(r.similarity).toFixed(2) + ")" + (r.replaces ? " \u2014 replaces the pending \u201c" + r.replaces + "\u201d" : "") +
        (r.pending ? " \u2014 pending until you step or resume" : " \u2014 executing now");
    }
  } catch (e) {
    say(e.message + (teleop() && /not a known skill/.test(e.message) ? " (or press \u201cadd as new skill\u201d)" : ""), false);
  }
}

async function sendKeys() {
  try { await api("/api/keys", { keys: [...new Set([...held, ...padHeld])] }); } catch (e) { say(e.message, false); }
}

document.addEventListener("keydown", (ev) => {
  const k = ev.key;
  if (!$("confirm").hidden) {  // the confirmation owns the keyboard
    ev.preventDefault();
    if (k === "Enter" || k === "y") closeConfirm(true);
    else if (k === "Escape" || k === "n") closeConfirm(false);
    return;
  }
  if (ev.target.tagName === "INPUT") { if (k === "Escape") ev.target.blur(); return; }
  if (ev.target.tagName === "BUTTON" && (k === "Enter" || k === " ")) { ev.target.blur(); }
  if (k === "Escape") { $("help").hidden = true; return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (driving() && DRIVE.has(k)) {
    ev.preventDefault();
    if (!held.has(k)) { held.add(k); sendKeys(); }
    return;
  }
  // started (set by the start control itself), not phase (set by the simulation thread at its next step): a key
  // pressed right after start must not start again
  if (k === "Enter" && state && !state.started) { ev.preventDefault(); control("start"); }
  else if (k === " ") { ev.preventDefault(); control(state && !state.started ? "start" : state && state.paused ? "resume" : "pause"); }
  else if (k === ".") control("step");
  else if (k === "[") control("slower");
  else if (k === "]") control("faster");
  else if (k === "c" || k === "l" || k === "/") { ev.preventDefault(); $("correction").focus(); $("correction").select(); }
  else if (k === "u") undoLast();
  else if (k === "t") toggleTakeover();
  else if (k === "S") verdict("success");
  else if (k === "F") verdict("failure");
  else if (k === "n") nextEpisode();
  else if (k === "Q") finishSession();
  else if (k === "?") $("help").hidden = !$("help").hidden;
});
document.addEventListener("keyup", (ev) => {
  if (held.delete(ev.key) && driving()) sendKeys();
});
window.addEventListener("blur", () => { if (held.size) { held.clear(); sendKeys(); } });
setInterval(() => { if (held.size || padHeld.size) sendKeys(); }, 200);  // keep-alive: the server stops stale keys

// a gamepad (the browser's Gamepad API) mapped onto the same keys: left stick moves, A toggles the gripper,
// the shoulder buttons raise / lower
setInterval(() => {
  const pads = navigator.getGamepads ? [...navigator.getGamepads()].filter(Boolean) : [];
  if (!pads.length || !driving()) { if (padHeld.size) { padHeld.clear(); sendKeys(); } return; }
  const p = pads[0], now = new Set(), ax = p.axes || [];
  if ((ax[1] || 0) < -0.5) now.add("ArrowUp");
  if ((ax[1] || 0) > 0.5) now.add("ArrowDown");
  if ((ax[0] || 0) < -0.5) now.add("ArrowLeft");
  if ((ax[0] || 0) > 0.5) now.add("ArrowRight");
  if (p.buttons[5] && p.buttons[5].pressed) now.add("r");
  if (p.buttons[4] && p.buttons[4].pressed) now.add("v");
  const grip = !!(p.buttons[0] && p.buttons[0].pressed);
  if (grip) now.add("g");
  const changed = now.size !== padHeld.size || [...now].some((k) => !padHeld.has(k)) || grip !== lastPadGrip;
  padHeld = now; lastPadGrip = grip;
  if (changed) sendKeys();
}, 100);

$("correct-form").addEventListener("submit", (ev) => submit(ev, false));
$("add-skill").addEventListener("click", () => submit(null, true));
$("start").addEventListener("click", () => control("start"));
$("pause").addEventListener("click", () => control(state && state.paused ? "resume" : "pause"));
$("step").addEventListener("click", () => control("step"));
$("slower").addEventListener("click", () => control("slower"));
$("faster").addEventListener("click", () => control("faster"));
$("takeover").addEventListener("click", toggleTakeover);
$("success").addEventListener("click", () => verdict("success"));
$("failure").addEventListener("click", () => verdict("failure"));
$("next").addEventListener("click", nextEpisode);
$("finish").addEventListener("click", finishSession);
$("help-toggle").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
$("confirm-yes").addEventListener("click", () => closeConfirm(true));
$("confirm-no").addEventListener("click", () => closeConfirm(false));
for (const b of document.querySelectorAll("button")) b.addEventListener("mouseup", () => b.blur());  // keys stay shortcuts
setInterval(() => { refreshFrame("front", "frame"); refreshFrame("top", "frame-top"); }, FRAME_MS);
poll();
