// The register page's little script. Everything works without it (plain forms, the window
// rendered in the page); with it the window is a modal dialog (focus stays inside, Esc
// closes it), it opens by itself when the daemon raises a connect prompt, and «Обновить
// сейчас» shows each exchange's progress as the daemon reports it.
"use strict";

(function () {
  const body = document.body;
  const dialog = document.getElementById("window");
  let openedFor = null; // the register whose window is showing
  let stale = false; // the page behind the window is out of date: read it again on close
  let submitting = false; // a form of this page is on its way: its answer decides what shows
  document.addEventListener("submit", () => { submitting = true; });

  function showDialog() {
    if (!dialog) return;
    dialog.classList.remove("inline");
    if (dialog.open && !dialog.matches(":modal")) dialog.close();
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector("[autofocus]") ||
      dialog.querySelector("input, select, button, a[href]");
    if (first) first.focus();
  }

  function closeDialog() {
    if (dialog && dialog.open) dialog.close();
    openedFor = null;
    if (location.pathname !== "/") history.replaceState(null, "", "/");
  }

  async function openWindow(url) {
    // the window's HTML comes from the server, the same as the page renders without JS
    const response = await fetch(url, { headers: { "X-Fragment": "window" },
                                         credentials: "same-origin" });
    if (!response.ok) return false;
    dialog.innerHTML = await response.text();
    wireWindow();
    showDialog();
    const step = dialog.querySelector("[data-register]");
    openedFor = step ? step.dataset.register : null;
    return true;
  }

  function wireWindow() {
    const close = dialog.querySelector("form[data-close]");
    if (close) close.addEventListener("submit", (event) => { event.preventDefault(); closeDialog(); });
  }

  // Tab and Shift+Tab go round inside the window (the browser's own modal dialog would let
  // focus leave for the address bar between rounds)
  function focusables() {
    return [...dialog.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")]
      .filter((el) => !el.disabled && el.offsetParent !== null);
  }

  if (dialog) {
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Tab") return;
      const items = focusables();
      if (!items.length) return;
      const first = items[0], last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault(); last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault(); first.focus();
      }
    });
    dialog.addEventListener("cancel", () => { openedFor = null; }); // Esc
    dialog.addEventListener("close", () => {
      // showDialog closes a non-modal window to reopen it modal: that close is not the user's
      if (dialog.open) return;
      if (location.pathname !== "/") history.replaceState(null, "", "/");
      if (stale) location.assign("/");
    });
    if (dialog.dataset.open) {
      wireWindow();
      const step = dialog.querySelector("[data-register]");
      openedFor = step ? step.dataset.register : null;
      showDialog();
    }
  }

  // «Подключить ККТ», «Изменить настройки обновления», «Настроить подключение»: the window
  document.querySelectorAll("a[data-window]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      openWindow(link.href).then((ok) => { if (!ok) location.assign(link.href); });
    });
  });

  // «Обновить сейчас» with live progress; the page is reloaded once it is over, so the
  // table of last and next runs and the backlog show the new figures
  document.querySelectorAll("form[data-sync]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      const list = form.parentElement.querySelector("[data-progress]");
      button.disabled = true;
      list.innerHTML = "";
      const response = await fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "Accept": "application/json" },
      });
      if (!response.ok) { button.disabled = false; location.reload(); return; }
      const run = await response.json();
      form.dataset.run = run.run_id || "";
    });
  });

  function progressItem(list, job, title) {
    let item = list.querySelector(`li[data-job="${CSS.escape(job)}"]`);
    if (!item) {
      item = document.createElement("li");
      item.dataset.job = job;
      list.appendChild(item);
    }
    const text = title || item.dataset.title || job;
    item.dataset.title = text.charAt(0).toUpperCase() + text.slice(1);
    return item;
  }

  // one step of «Обновить сейчас»: {register_key, job, title, index, total, state, result}
  function onProgress(data) {
    const list = document.querySelector(`[data-progress="${CSS.escape(data.register_key)}"]`);
    if (!list) return;
    const item = progressItem(list, data.job, data.title);
    if (data.state === "started") {
      item.dataset.state = "running";
      item.textContent = `${item.dataset.title}: ${body.dataset.msgRunning}`;
    } else {
      const result = data.result || {};
      item.dataset.state = result.ok ? "ok" : "error";
      item.textContent = `${item.dataset.title}: ${result.ok ? result.text : (result.error || body.dataset.msgFailed)}`;
    }
  }

  function onFinished(data) {
    const form = document.querySelector(`form[data-sync][data-run="${CSS.escape(data.run_id || "")}"]`);
    if (!form) return; // another page's run
    const list = form.parentElement.querySelector("[data-progress]");
    const status = document.createElement("li");
    status.dataset.state = data.ok ? "ok" : "error";
    status.textContent = body.dataset.msgDone;
    list.appendChild(status);
    // the table of last and next runs and the backlog: read again
    setTimeout(() => location.assign(data.ok ? "/?done=synced" : "/?done=sync-failed"), 1200);
  }

  // the daemon's events: a connect prompt opens the window in every open page
  // (only on a page with the window: the sign-in notice has none, and no session either)
  const source = body.dataset.events;
  if (source && window.EventSource && dialog) {
    const events = new EventSource(source, { withCredentials: true });
    // a prompt opens the window once per page; one the cashier closed stays closed in this
    // tab (it can be reopened with «Подключить ККТ») until the daemon raises a new one
    const prompted = new Set();
    const dismissed = new Set(JSON.parse(sessionStorage.getItem("kkt-dismissed") || "[]"));
    let shownPrompt = null;
    dialog.addEventListener("close", () => {
      if (shownPrompt === null || dialog.open) return;
      dismissed.add(shownPrompt);
      sessionStorage.setItem("kkt-dismissed", JSON.stringify([...dismissed]));
      shownPrompt = null;
    });
    function onPrompt(data) {
      const id = `${data.register_key}#${data.raised_at}`;
      if (prompted.has(id) || dismissed.has(id)) return;
      prompted.add(id);
      stale = true; // the register's state changed: the cards behind are old
      if (dialog.open) return; // never pull a window from under the cashier's hands
      openWindow(`/connect/${encodeURIComponent(data.register_key)}`).then((ok) => {
        if (ok) shownPrompt = id;
      });
    }
    events.addEventListener("prompts", (event) => JSON.parse(event.data).forEach(onPrompt));
    events.addEventListener("prompt", (event) => onPrompt(JSON.parse(event.data)));
    events.addEventListener("prompt_resolved", (event) => {
      const data = JSON.parse(event.data);
      const step = dialog && dialog.querySelector("[data-step]");
      // paired from elsewhere (CLI, another page): this window has nothing left to ask
      if (!submitting && step && step.dataset.register === data.register_key &&
          (step.dataset.step === "prompt" || step.dataset.step === "code")) closeDialog();
    });
    events.addEventListener("sync_progress", (event) => onProgress(JSON.parse(event.data)));
    events.addEventListener("sync_finished", (event) => onFinished(JSON.parse(event.data)));
    events.addEventListener("register_changed", () => {
      if (dialog && dialog.open) {
        stale = true;
      } else {
        const active = document.activeElement;
        const typing = active && ["INPUT", "SELECT", "TEXTAREA"].includes(active.tagName);
        if (!typing && !document.querySelector("form[data-sync] button:disabled")) location.reload();
      }
    });
  }
})();
