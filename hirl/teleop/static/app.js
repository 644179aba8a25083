// hirl session page: polls /api/state, refreshes the camera at a low rate, sends corrections / labels / keys.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
let state = null, frameBusy = false, lastFrameId = -1, held = new Set();
const FRAME_MS = 250;  // camera refresh period asked of the server (it renders at most max_fps)

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

function render(s) {
  state = s;
  const teleop = s.mode === "teleop";
  $("mode").textContent = teleop ? "teleoperation" : "correction session";
  $("phase").textContent = s.error ? "error" : s.phase;
  $("pause").textContent = s.paused ? "resume" : "pause";
  $("episode-info").textContent = "episode " + s.episode + ", step " + (s.step ?? 0);
  $("command").textContent = s.command || "-";
  $("completed").textContent = (s.completed || []).join("; ") || "-";
  const g = s.subgoal;
  $("subgoal").textContent = g ? g.text : "-";
  $("subgoal-source").textContent = g ? g.source + (g.reason ? " / " + g.reason : "") : "";
  $("subgoal-source").className = "pill " + (g ? g.source : "");
  $("teleop-help").hidden = !teleop;
  $("input-label").textContent = teleop ? "label the next segment (l to focus, enter to send)"
                                        : "correction (c to focus, enter to send)";
  if (teleop) {
    $("keys").textContent = (s.keys || []).join(" ") || "-";
    $("grip").textContent = s.gripper_closed ? "closed" : "open";
  }
  const list = $("skills"), skills = s.skills || [];
  if (list.childElementCount !== skills.length) {
    list.replaceChildren(...skills.map((k) => { const o = document.createElement("option"); o.value = k; return o; }));
  }
  const eps = s.episodes || [];
  const corr = s.corrections ?? "-";
  const envOk = eps.filter((e) => e.env_success).length, youOk = eps.filter((e) => e.human_label === "success").length;
  $("summary").textContent = eps.length + " episodes finished, env success " + envOk + ", your success " + youOk +
    (teleop ? ", " + (s.labels || 0) + " labels" : ", " + corr + " corrections");
  $("episodes").tBodies[0].replaceChildren(...eps.slice(-15).reverse().map((e) => {
    const tr = document.createElement("tr");
    for (const v of [e.episode, e.env_success ? "success" : "fail", e.human_label || "-", e.chain_length, e.interventions]) {
      const td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td);
    }
    return tr;
  }));
  if (s.error) say("session error: " + s.error, false);
}

async function poll() {
  try { render(await api("/api/state")); } catch (e) { $("phase").textContent = "disconnected"; }
  setTimeout(poll, 250);
}

function refreshFrame() {
  if (frameBusy) return;
  frameBusy = true;
  const img = new Image();
  img.onload = () => { $("frame").src = img.src; frameBusy = false; };
  img.onerror = () => { frameBusy = false; };
  img.src = "/api/frame.jpg?t=" + Date.now() + (token ? "&token=" + encodeURIComponent(token) : "");
}

async function control(action) {
  try { say((await api("/api/control", { action })).message, true); } catch (e) { say(e.message, false); }
}

async function submit(ev) {
  ev.preventDefault();
  const box = $("correction"), text = box.value;
  const teleop = state && state.mode === "teleop";
  try {
    const r = await api(teleop ? "/api/label" : "/api/correct", { text });
    say(r.message, true);
    box.value = "";
    box.blur();
  } catch (e) { say(e.message, false); }
}

async function sendKeys() {
  try { await api("/api/keys", { keys: [...held] }); } catch (e) { say(e.message, false); }
}

const DRIVE = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "w", "s", "g"]);
document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT") { if (ev.key === "Escape") ev.target.blur(); return; }
  const teleop = state && state.mode === "teleop";
  if (teleop && DRIVE.has(ev.key)) {
    ev.preventDefault();
    if (!held.has(ev.key)) { held.add(ev.key); sendKeys(); }
    return;
  }
  const k = ev.key;
  if (k === " ") { ev.preventDefault(); control(state && state.paused ? "resume" : "pause"); }
  else if (k === ".") control("step");
  else if (k === "c" || k === "l" || k === "/") { ev.preventDefault(); $("correction").focus(); }
  else if (k === "s") control("success");
  else if (k === "f") control("failure");
  else if (k === "n") control("next");
  else if (k === "Q") control("finish");
});
document.addEventListener("keyup", (ev) => {
  if (held.delete(ev.key) && state && state.mode === "teleop") sendKeys();
});
window.addEventListener("blur", () => { if (held.size) { held.clear(); sendKeys(); } });
setInterval(() => { if (held.size) sendKeys(); }, 200);  // keep-alive: the server stops motion on stale keys

$("correct-form").addEventListener("submit", submit);
$("pause").addEventListener("click", () => control(state && state.paused ? "resume" : "pause"));
for (const a of ["step", "success", "failure", "next", "finish"]) $(a).addEventListener("click", () => control(a));
setInterval(refreshFrame, FRAME_MS);
refreshFrame();
poll();
