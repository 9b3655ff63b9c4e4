/* Safari Auto dashboard: live updates over a websocket, controls through fetch with CSRF.
   No build step. The page works without this script (plain forms, full reloads). */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) return;
  var lastId = parseInt(root.dataset.lastEventId || "0", 10) || 0;
  var seen = new Set();
  var socket = null;
  var attempts = 0;
  var reconnectTimer = null;
  var refreshTimer = null;
  var refreshing = false;
  var refreshAgain = false;
  var live = document.getElementById("live");
  var feed = function () { return document.getElementById("feed"); };
  // Receipt times, for the benchmark: [{id, ts (created, ms), at (received, ms)}].
  var stats = (window.dashboardStats = { received: [], connects: 0 });

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function setLive(state, text) {
    live.dataset.state = state;
    live.textContent = text;
    live.classList.toggle("disconnected", state !== "connected");
    document.body.dataset.live = state;
  }

  // --- the socket ---------------------------------------------------------------------
  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var url = proto + "//" + location.host + root.dataset.wsPath + "?since=" + lastId;
    setLive("connecting", "connecting…");
    socket = new WebSocket(url);
    socket.onopen = function () {
      attempts = 0;
      stats.connects += 1;
      setLive("connected", "live");
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (err) { return; }
      if (data.type === "snapshot") onSnapshot(data);
      else if (data.type === "events") onEvents(data.events || []);
    };
    socket.onclose = function () {
      socket = null;
      var delay = Math.min(30000, 500 * Math.pow(2, attempts)) * (0.75 + Math.random() / 2);
      attempts += 1;
      setLive("disconnected", "disconnected — reconnecting in " + Math.ceil(delay / 1000) + "s");
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(connect, delay);
    };
  }

  function onSnapshot(data) {
    onEvents(data.events || []);
    if (data.resync || (data.events || []).length) refresh(true);
    if (data.lastEventId > lastId) lastId = data.lastEventId;
  }

  function onEvents(events) {
    var now = Date.now();
    var changed = false;
    events.forEach(function (event) {
      if (seen.has(event.id)) return;
      seen.add(event.id);
      if (seen.size > 5000) seen = new Set(Array.from(seen).slice(-2500));
      stats.received.push({ id: event.id, ts: event.ts, at: now, kind: event.kind });
      if (stats.received.length > 5000) stats.received.splice(0, 1000);
      if (event.id > lastId) lastId = event.id;
      prependEvent(event);
      changed = true;
    });
    if (changed) refresh(false);
  }

  function prependEvent(event) {
    var list = feed();
    if (!list || list.querySelector('[data-event-id="' + event.id + '"]')) return;
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var item = document.createElement("li");
    item.dataset.eventId = event.id;
    item.className = "ev fresh kind-" + String(event.kind).replace(/[^a-z0-9]+/gi, "-") +
      (event.text ? "" : " raw");
    var time = document.createElement("time");
    time.dateTime = event.createdAt;
    time.textContent = new Date(event.ts).toLocaleTimeString([], { hour12: false });
    item.append(time, " ");
    if (event.text) {
      var what = document.createElement("span");
      what.className = "what";
      what.textContent = event.text;
      item.append(what, " ");
    }
    // The raw event (kind, subject, message) sits behind the feed's details toggle.
    var detail = document.createElement("span");
    detail.className = "raw-detail";
    var kind = document.createElement("code");
    kind.textContent = event.kind;
    detail.append(kind, " ");
    var subject = event.taskId ? "#" + event.taskId : event.subjectId;
    if (subject) {
      var span = document.createElement("span");
      span.textContent = subject;
      detail.append(span, " ");
    }
    detail.append(event.message || "");
    item.append(detail);
    // Keep newest first even when a late id arrives.
    var before = Array.prototype.find.call(list.children, function (li) {
      return parseInt(li.dataset.eventId || "0", 10) < event.id;
    });
    list.insertBefore(item, before || null);
    while (list.children.length > 60) list.removeChild(list.lastElementChild);
  }

  // --- patching the sections ------------------------------------------------------------
  // Live events refresh the sections at most once per REFRESH_GAP_MS: each refresh renders
  // every section on the server, in the web process that also relays the events, so a busy
  // minute used to keep it rendering non-stop. The feed itself is patched at once.
  var REFRESH_GAP_MS = 1000;
  var lastRefreshAt = 0;
  var againNow = false; // a control's refresh asked for while one was running: no gap
  function refresh(now) {
    if (refreshing) { refreshAgain = true; againNow = againNow || !!now; return; }
    if (refreshTimer && !now) return;
    clearTimeout(refreshTimer);
    var wait = now ? 0 : Math.max(150, lastRefreshAt + REFRESH_GAP_MS - Date.now());
    refreshTimer = setTimeout(doRefresh, wait);
  }

  function doRefresh() {
    refreshTimer = null;
    lastRefreshAt = Date.now();
    refreshing = true;
    var url = root.dataset.fragmentsUrl + location.search;
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (answer) {
        if (answer.redirected || answer.status === 302 || answer.status === 403) {
          location.reload();
          return null;
        }
        return answer.ok ? answer.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        Object.keys(data.fragments).forEach(function (name) {
          var section = root.querySelector('[data-fragment="' + name + '"]');
          if (!section) return;
          // Do not pull a form from under someone typing in it; the next refresh will do.
          if (section.contains(document.activeElement) && document.activeElement.tagName === "INPUT") {
            refreshAgain = true;
            return;
          }
          if (name === "activity") {
            mergeActivity(section, data.fragments[name]);
            return;
          }
          section.innerHTML = data.fragments[name];
        });
        tick();
      })
      .catch(function () { /* offline: the socket's reconnect will refresh */ })
      .then(function () {
        refreshing = false;
        if (refreshAgain) {
          var now = againNow;
          refreshAgain = againNow = false;
          refresh(now);
        }
      });
  }

  function mergeActivity(section, html) {
    // Live rows may be newer than what the server rendered: keep them.
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#feed");
    var list = feed();
    if (!fresh || !list) { section.innerHTML = html; return; }
    Array.prototype.forEach.call(fresh.children, function (li) {
      var id = li.dataset.eventId;
      if (id && !list.querySelector('[data-event-id="' + id + '"]')) {
        var before = Array.prototype.find.call(list.children, function (other) {
          return parseInt(other.dataset.eventId || "0", 10) < parseInt(id, 10);
        });
        list.insertBefore(li.cloneNode(true), before || null);
      }
    });
  }

  // --- the feed's details toggle (raw event kinds), remembered per browser ---------------
  function showDetails(on) {
    document.body.classList.toggle("feed-details", on);
    var box = document.getElementById("feed-details");
    if (box) box.checked = on;
  }
  document.addEventListener("change", function (event) {
    if (event.target.id !== "feed-details") return;
    try { localStorage.setItem("feedDetails", event.target.checked ? "1" : ""); } catch (err) { /* private mode */ }
    showDetails(event.target.checked);
  });
  try { showDetails(localStorage.getItem("feedDetails") === "1"); } catch (err) { showDetails(false); }

  // --- controls -------------------------------------------------------------------------
  var toast = document.getElementById("toast");
  var toastTimer = null;
  function say(text, isError) {
    toast.textContent = text;
    toast.className = "toast" + (isError ? " error" : "");
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; }, isError ? 8000 : 3000);
  }

  // Errors beside the fields they are about ("payload.text" is about the payload box).
  var FIELD_ALIASES = { scheduledFor: "when" };
  function showFieldErrors(form, fields) {
    form.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    Object.keys(fields).forEach(function (key) {
      var name = key.split(/[.\[]/)[0];
      var input = form.querySelector('[name="' + (FIELD_ALIASES[name] || name) + '"]');
      var note = document.createElement("p");
      note.className = "field-error";
      note.setAttribute("role", "alert");
      note.textContent = key + ": " + [].concat(fields[key]).join(" ");
      if (input) {
        input.setAttribute("aria-invalid", "true");
        (input.closest("label") || input).after(note);
      } else {
        form.prepend(note);
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-ajax")) return;
    event.preventDefault();
    var body = new FormData(form);
    if (event.submitter && event.submitter.name) body.append(event.submitter.name, event.submitter.value);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrfToken() },
    })
      .then(function (answer) {
        return answer.json().catch(function () { return { ok: false, error: "HTTP " + answer.status }; });
      })
      .then(function (data) {
        say(data.ok ? data.message : data.error, !data.ok);
        showFieldErrors(form, data.ok ? {} : data.fields || {});
        if (data.ok && form.classList.contains("schedule-form")) form.reset();
        refresh(true);
      })
      .catch(function () { say("Could not reach the server.", true); })
      .then(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  });

  // --- countdowns -------------------------------------------------------------------------
  function human(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + (s % 60) + "s";
    return s + "s";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var at = Date.parse(el.dataset.until);
      if (isNaN(at)) return;
      el.textContent = at - now > 1000 ? "in " + human(at - now) : "now";
      el.title = new Date(at).toLocaleString();
    });
  }
  setInterval(tick, 1000);
  tick();
  connect();
})();
