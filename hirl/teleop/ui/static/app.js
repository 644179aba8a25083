// hirl session page: polls /api/state and renders EVERY panel from it (one source of truth: nothing the page
// remembers can outlive an undo, a refusal, an episode change or the end), refreshes both camera views at the
// size they are shown, sends corrections, undos, takeovers, labels, notes and held keys. Buttons are enabled from
// the server's "actions". Destructive keys ask first; focus leaves the text boxes after every send. The help, the
// buttons' hints and the drive prompt come from KEYS and DRIVE below.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
let state = null, held = new Set(), padHeld = new Set(), confirmAction = null, lastPadGrip = false;
const busy = { front: false, top: false };
const FRAME_MS = 50;  // camera refresh period asked of the server (it renders at most max_fps per view)
const POLL_MS = 150;  // state refresh period
// key -> what it does while you drive (the one drive key map: keys sent, the drive prompt, the help)
const DRIVE = { ArrowUp: "up the screen", ArrowDown: "down the screen", ArrowLeft: "left", ArrowRight: "right",
  r: "raise", v: "lower", g: "open / close the gripper" };
const DRIVE_HELP = "you drive: arrows move on the screen's axes, r / v raise / lower, g opens / closes the gripper " +
  "(a gamepad works too: left stick, A grip, shoulder buttons up / down); t hands back";
// [keys shown, what, the event keys, the handler] (the one key map: keydown dispatches on it, the help lists it)
const KEYS = [
  ["Enter", "start the session (while it is ready)", ["Enter"], (ev) => { if (state && !state.started) { ev.preventDefault(); control("start"); } }],
  ["space", "pause / resume", [" "], (ev) => { ev.preventDefault(); control(state && !state.started ? "start" : state && state.paused ? "resume" : "pause"); }],
  [".", "one control step (while paused)", ["."], () => control("step")],
  ["[ / ]", "slower / faster (slow motion down to 0.05x)", ["[", "]"], (ev) => control(ev.key === "[" ? "slower" : "faster")],
  ["c or /", "type a correction (teleop: l, a label); Enter sends, Esc leaves the box", ["c", "/", "l"], (ev) => { ev.preventDefault(); $("correction").focus(); $("correction").select(); }],
  ["y", "accept the suggestion: correct to the subtask due now (offered when the subgoal differs)", ["y"], () => accept()],
  ["u", "undo the last correction or takeover (it leaves the training data)", ["u"], () => undo("last")],
  ["t", "take over the controls / hand them back (correction sessions)", ["t"], () => toggleTakeover()],
  ["arrows, r / v, g", "while you drive: " + Object.values(DRIVE).join(", "), [], null],
  ["e", "write a note on the current episode; Enter saves", ["e"], (ev) => { if (!teleop()) { ev.preventDefault(); $("note").focus(); } }],
  ["shift+S / shift+F", "end the episode as success / failure (asks first while it runs)", ["S", "F"], (ev) => verdict(ev.key === "S" ? "success" : "failure")],
  ["n", "next episode (asks first while one runs; an ended episode is already saved)", ["n"], () => nextEpisode()],
  ["shift+Q", "finish the session (asks first; says whether it fine-tunes)", ["Q"], () => finishSession()],
  ["?", "show / hide this help; Esc closes it", ["?"], () => { $("help").hidden = !$("help").hidden; }],
];
// button id -> the server action that enables it
const BUTTONS = { start: "start", step: "step", slower: "slower", faster: "faster", takeover: "takeover",
  success: "success", failure: "failure", next: "next", finish: "finish", accept: "accept", send: "correct" };

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

function say(text, ok) {  // at once, before the next poll brings the server's own message (the same text)
  const m = $("message");
  m.textContent = text;
  m.className = ok ? "ok" : "error";
}

const teleop = () => state && state.mode === "teleop";
const driving = () => state && (teleop() || state.takeover_active);
const can = (a) => !!(state && state.actions && state.actions[a]);
const running = () => state && ["running", "paused", "waiting"].includes(state.phase) && !state.saved;
const simSeconds = (steps) => (steps * 0.02).toFixed(1) + " s";

function cell(tr, v, title) {
  const td = document.createElement("td");
  td.textContent = String(v);
  td.title = title === undefined ? String(v) : title;
  tr.appendChild(td);
  return td;
}

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

function renderCues(s) {
  const live = ["ready", "running", "paused", "waiting"].includes(s.phase);  // an ended episode has nothing due
  const m = live ? s.mismatch : null, cue = $("cue");
  cue.hidden = !m;
  if (m) {
    cue.className = m.kind;
    $("cue-text").textContent = "\u26a0 the subgoal is " + m.kind + " for " + simSeconds(m.steps || 0) +
      ": \u201c" + m.active + "\u201d is not the subtask due now, \u201c" + m.due + "\u201d" +
      (s.pending ? " (your correction is pending: step or resume)" : "");
  }
  $("accept").hidden = !live || !s.suggestion;
  if (s.suggestion) $("accept").textContent = "correct to \u201c" + s.suggestion + "\u201d (y)";
  const b = live ? s.budget : null;
  $("budget").hidden = !b;
  if (b) {
    const used = b.used / Math.max(b.total, 1);
    $("budget-fill").style.width = (100 * Math.min(used, 1)).toFixed(1) + "%";
    $("budget-fill").className = used > 0.8 ? "late" : used > 0.5 ? "half" : "";
    $("budget-text").textContent = "subtask budget: " + b.used + " / " + b.total + " steps, " +
      b.seconds_left.toFixed(1) + " s (simulated) left";
  }
  $("preview").textContent = live && s.preview ? "next proposal of the high level (once this subgoal is done): \u201c" +
    s.preview + "\u201d" : "";
}

function renderTimeline(s) {
  $("timeline").tBodies[0].replaceChildren(...(s.timeline || []).map((seg) => {
    const tr = document.createElement("tr");
    tr.className = seg.mismatch ? "mismatch" : "";
    cell(tr, seg.step);
    cell(tr, seg.text);
    cell(tr, seg.source);
    cell(tr, seg.why);
    cell(tr, seg.due || "-");
    cell(tr, simSeconds(seg.steps));
    cell(tr, seg.mismatch ? "no: " + seg.mismatch : "yes");
    return tr;
  }));
}

function renderHistory(s) {
  const rows = (s.history || []).slice().reverse().map((h) => {
    const tr = document.createElement("tr");
    tr.className = h.shown;
    cell(tr, h.episode + "." + h.step);
    cell(tr, h.kind === "takeover" ? "takeover of \u201c" + h.skill + "\u201d, " + (h.seconds ?? 0).toFixed(2) +
      " s (simulated)" : "\u201c" + h.corrected + "\u201d \u2192 " + h.skill + " (" + (h.similarity ?? 1).toFixed(2) +
      ", " + (h.how || "") + ")");
    cell(tr, h.shown);
    const td = document.createElement("td");
    if (h.status === "active") {
      const b = document.createElement("button");
      b.textContent = "undo";
      b.className = "undo";
      b.disabled = !can("undo");
      b.addEventListener("click", () => undo(h.id));
      td.appendChild(b);
    }
    tr.appendChild(td);
    return tr;
  });
  $("history").tBodies[0].replaceChildren(...rows);
}

function renderMatch(s) {
  const m = $("match"), a = s.match;
  m.hidden = teleop() || !a;
  if (!a) { m.textContent = ""; return; }
  if (a.refused) {
    m.className = "small refused";
    m.textContent = "\u201c" + a.text + "\u201d refused: " + a.refused;
    return;
  }
  const what = { pending: "pending until you step or resume", active: "executed", undone: "undone (not trained on)",
    replaced: "replaced by a later correction" }[a.shown] || a.shown;
  m.className = "small " + a.shown;
  m.textContent = "\u201c" + a.corrected + "\u201d \u2192 " + a.skill + " (" + a.how + ", similarity " +
    Number(a.similarity).toFixed(2) + ")" + (a.replaces ? " \u2014 replaced a pending one" : "") + " \u2014 " + what;
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
    (s.takeover_seconds ?? 0) + " s simulated); " + (s.undone ?? 0) + " undone, " + (s.replaced ?? 0) + " replaced"]);
  lines.push(["your time", ((s.attention_seconds ?? 0) / 60).toFixed(1) + " min (wall clock)"]);
  if (r.retrained === false) lines.push(["trained", "nothing (no fine-tune, no evaluation)"]);
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

function renderButtons(s) {
  for (const [id, action] of Object.entries(BUTTONS)) $(id).disabled = !can(action);
  $("pause").disabled = !(can("pause") || can("resume"));
  $("send").disabled = !teleop() && !can("correct");
  $("correction").disabled = !teleop() && !can("correct");
  $("note").disabled = !can("note") || teleop();
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
  $("subgoal-source").textContent = g ? g.source : "";
  $("subgoal-source").className = "pill " + (g ? g.source : "");
  $("subgoal-source").hidden = !g;
  $("subgoal-age").textContent = g ? "for " + simSeconds(g.age_steps || 0) + " (simulated)" : "";
  $("subgoal-why").textContent = g ? "began at step " + g.since + ": " + g.why : "";
  renderCues(s);
  renderTimeline(s);
  $("takeover").hidden = teleop();
  $("takeover").className = s.takeover_active ? "on" : "";
  $("takeover").textContent = s.takeover_active ? "hand back (t)" : "take over (t)";
  $("drive-help").hidden = !driving();
  $("drive-keys").textContent = DRIVE_HELP;
  $("keys").textContent = (s.keys || []).join(" ") || "-";
  $("grip").textContent = s.gripper_closed ? "closed" : "open";
  $("clamped").textContent = s.clamped ? " (stopped at the edge of the view)" : "";
  $("input-label").textContent = teleop() ? "label the next segment with a known skill (l to type, Enter sends)"
    : "correction (c to type, Enter sends, Esc leaves the box)";
  $("add-skill").hidden = !teleop();
  $("note-form").hidden = teleop();
  $("note-episode").textContent = s.episode;
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
  renderMatch(s);
  if (s.message_seq !== undefined && s.message) say(s.message, s.message_ok !== false);
  renderHistory(s);
  const eps = s.episodes || [];
  const envOk = eps.filter((e) => e.env_success).length, youOk = eps.filter((e) => e.human_label === "success").length;
  const counts = teleop() ? (s.labels || 0) + " labels"
    : (s.corrections ?? 0) + " corrections, " + (s.takeovers ?? 0) + " takeovers" +
      (s.takeover_active ? " + 1 in progress" : "") + " (" + (s.takeover_seconds ?? 0) + " s simulated)";
  $("summary").textContent = eps.length + " episodes finished, env success " + envOk + ", your success " + youOk + ", " +
    counts + (s.pending ? "; pending: " + s.pending : "");
  $("episodes").tBodies[0].replaceChildren(...eps.slice().reverse().map((e) => {
    const tr = document.createElement("tr");
    for (const v of [e.episode, e.end_reason || "-", e.env_success ? "success" : "fail", e.human_label || "-",
      e.chain_length, e.corrections ?? "-", e.takeovers ?? "-", e.note || ""]) cell(tr, v);
    return tr;
  }));
  renderButtons(s);
  renderReport(s.report);
  if (s.error) say("session error: " + s.error, false);
}

async function poll() {
  try { render(await api("/api/state")); } catch (e) {
    $("phase").textContent = state && state.report ? "report (server closed)" : "disconnected";
    for (const b of document.querySelectorAll("button")) if (b.id !== "help-toggle") b.disabled = true;
  }
  setTimeout(poll, POLL_MS);
}

function refreshFrame(view, imgId) {
  const img = $(imgId);
  if (busy[view] || !img.offsetParent) return;
  busy[view] = true;
  const side = Math.round(img.clientWidth * (window.devicePixelRatio || 1));
  const next = new Image();
  next.onload = () => { img.src = next.src; img.dataset.frames = String(Number(img.dataset.frames || 0) + 1); busy[view] = false; };
  next.onerror = () => { busy[view] = false; };
  next.src = "/api/frame.jpg?view=" + view + "&w=" + side + "&h=" + side + "&t=" + Date.now() +
    (token ? "&token=" + encodeURIComponent(token) : "");
}

async function refresh() {  // the server's state at once after an action: the next key acts on what it did
  try { render(await api("/api/state")); } catch (e) { /* the next poll says so */ }
}

async function send(path, body, after) {
  let r = null, error = null;
  try { r = await api(path, body); } catch (e) { error = e.message; }
  await refresh();
  if (r) say(r.message + (after ? after(r) : ""), true);
  else say(error, false);
  return r;
}

const control = (action) => send("/api/control", { action });
const undo = (id) => send("/api/undo", { id });  // "last": the server knows the newest live entry
const accept = () => send("/api/accept", { accept: true });

async function toggleTakeover() {
  if (!state || teleop()) return;
  // the server toggles at its control step: two quick presses never both start a takeover
  if (await send("/api/takeover", { on: "toggle" }, (r) => (r.message.startsWith("you drive") ? " \u2014 " + DRIVE_HELP : ""))) held.clear();
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
  if (!can(v)) { control(v); return; }  // the server says why not
  if (running()) ask("End episode " + state.episode + " now as a " + v + "? It is saved; the next one starts only at n.",
    () => control(v));
  else control(v);
}
function nextEpisode() {
  if (running()) ask("End episode " + state.episode + " now (it is saved) and start the next one?", () => control("next"));
  else control("next");
}
function finishSession() {
  if (!can("finish")) { control("finish"); return; }
  ask("Finish the session? Episodes stop; " + (state && state.retrain === false
    ? "--no-retrain: the dataset is written, nothing is fine-tuned or evaluated."
    : "the levels are fine-tuned on your interventions and evaluated."), () => control("finish"));
}

async function submit(ev, newSkill) {
  if (ev) ev.preventDefault();
  const box = $("correction"), text = box.value;
  box.blur();  // focus leaves the box at once (not when the answer comes): the next keys are shortcuts again
  const r = await send(teleop() ? "/api/label" : "/api/correct", teleop() ? { text, new_skill: !!newSkill } : { text });
  if (r) box.value = "";
  else if (teleop() && /not a known skill/.test($("message").textContent)) say($("message").textContent +
    " (or press \u201cadd as new skill\u201d)", false);
}

async function saveNote(ev) {
  ev.preventDefault();
  const box = $("note");
  box.blur();
  if (state && await send("/api/note", { episode: state.episode, text: box.value })) box.value = "";
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
  if (driving() && k in DRIVE) {  // drive mode: its keys never reach the shortcuts below
    ev.preventDefault();
    if (!held.has(k)) { held.add(k); sendKeys(); }
    return;
  }
  // Enter starts only while not started (set by the start control itself, not the phase the simulation thread sets
  // at its next step): a key pressed right after start must not start again
  const entry = KEYS.find(([, , keys, fn]) => fn && keys.includes(k));
  if (entry) entry[3](ev);
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

$("help-keys").replaceChildren(...KEYS.map(([keys, what]) => {
  const tr = document.createElement("tr");
  cell(tr, keys);
  cell(tr, what);
  return tr;
}));
$("correct-form").addEventListener("submit", (ev) => submit(ev, false));
$("note-form").addEventListener("submit", saveNote);
$("add-skill").addEventListener("click", () => submit(null, true));
$("start").addEventListener("click", () => control("start"));
$("pause").addEventListener("click", () => control(state && state.paused ? "resume" : "pause"));
$("step").addEventListener("click", () => control("step"));
$("slower").addEventListener("click", () => control("slower"));
$("faster").addEventListener("click", () => control("faster"));
$("takeover").addEventListener("click", toggleTakeover);
$("accept").addEventListener("click", accept);
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
