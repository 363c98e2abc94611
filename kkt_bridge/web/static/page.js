// The register page's little script. Everything works without it (plain forms, the window
// rendered in the page); with it the window is a modal dialog (focus stays inside, Esc
// closes it), it opens by itself when the daemon raises a connect prompt, and «Обновить
// сейчас» shows each exchange's progress as the daemon reports it.
"use strict";

(function () {
  const body = document.body;
  const dialog = document.getElementById("window");
  let openedFor = null; // the register whose window is showing

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

  if (dialog) {
    dialog.addEventListener("cancel", () => { openedFor = null; }); // Esc
    dialog.addEventListener("close", () => {
      if (location.pathname !== "/") history.replaceState(null, "", "/");
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
      if (run.done) { location.reload(); }
    });
  });

  function progressItem(list, job, title) {
    let item = list.querySelector(`li[data-job="${CSS.escape(job)}"]`);
    if (!item) {
      item = document.createElement("li");
      item.dataset.job = job;
      list.appendChild(item);
    }
    item.dataset.title = title || item.dataset.title || job;
    return item;
  }

  function onProgress(data) {
    const list = document.querySelector(`[data-progress="${CSS.escape(data.register_key)}"]`);
    if (!list) return;
    if (data.state === "finished_all" || data.job === null || data.job === undefined) {
      if (data.state === "finished_all" || data.state === "done") {
        const status = document.createElement("li");
        status.dataset.state = "ok";
        status.textContent = body.dataset.msgDone;
        list.appendChild(status);
        setTimeout(() => location.reload(), 1500);
      }
      return;
    }
    const item = progressItem(list, data.job, data.title);
    const title = item.dataset.title;
    if (data.state === "started" || data.state === "running") {
      item.dataset.state = "running";
      item.textContent = `${title}: ${body.dataset.msgRunning}`;
    } else if (data.state === "failed" || data.error) {
      item.dataset.state = "error";
      item.textContent = `${title}: ${data.error || body.dataset.msgFailed}`;
    } else {
      item.dataset.state = "ok";
      item.textContent = `${title}: ${data.summary || ""}`;
    }
  }

  // the daemon's events: a connect prompt opens the window in every open page
  const source = body.dataset.events;
  if (source && window.EventSource) {
    const events = new EventSource(source, { withCredentials: true });
    events.addEventListener("prompt", (event) => {
      const data = JSON.parse(event.data);
      if (openedFor === data.register_key && dialog.open) return;
      if (dialog.open) return; // never pull a window from under the cashier's hands
      openWindow(`/connect/${encodeURIComponent(data.register_key)}`);
    });
    events.addEventListener("prompt_resolved", (event) => {
      const data = JSON.parse(event.data);
      const step = dialog && dialog.querySelector("[data-step]");
      // paired from elsewhere (CLI, another page): this window has nothing left to ask
      if (step && step.dataset.register === data.register_key &&
          (step.dataset.step === "prompt" || step.dataset.step === "code")) closeDialog();
    });
    events.addEventListener("sync_progress", (event) => onProgress(JSON.parse(event.data)));
    events.addEventListener("register_changed", () => {
      if (!dialog || !dialog.open) {
        const active = document.activeElement;
        const typing = active && ["INPUT", "SELECT", "TEXTAREA"].includes(active.tagName);
        if (!typing && !document.querySelector("form[data-sync] button:disabled")) location.reload();
      }
    });
  }
})();
