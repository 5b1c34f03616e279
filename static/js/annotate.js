// The annotator page's hotkeys: the prefetched item is shown the instant a key is pressed, the
// answer is posted with htmx, and the response refills the prefetch slot (#next).
(function () {
  "use strict";
  const workspace = document.getElementById("workspace");
  if (!workspace) return;
  const urls = workspace.dataset;
  let shownAt = performance.now();
  let picking = false; // after "n" with more than two classes, a digit picks the class
  // A case: the card's timeline rows selected beside the item (shift + arrows, "a"); the next
  // answer labels them with it, in one request.
  let cursor = null; // index of the selection's far end among the timeline's rows
  const cases = urls.cases === "on"; // the annotate page labels cases; the review page does not
  // Keys answer an item only once it has been on screen this long: two presses closer than a
  // human can read an item answer one item, not two. The card says when it is ready.
  const MIN_DWELL_MS = 120;

  function timelineRows(item) {
    return item ? Array.from(item.querySelectorAll(".timeline tr[data-timeline-row]")) : [];
  }

  function selectionMark(item, from, to) {
    const rows = timelineRows(item);
    const low = Math.min(from, to), high = Math.max(from, to);
    rows.forEach(function (row, index) {
      const chosen = index >= low && index <= high && !row.classList.contains("current");
      row.classList.toggle("selected", chosen);
      row.setAttribute("aria-selected", chosen ? "true" : "false");
    });
    const count = rows.filter((row) => row.classList.contains("selected")).length;
    const note = item.querySelector("[data-case-note]");
    if (note) note.textContent = count ? `${count} selected: the next answer labels them too (Esc clears)` : "";
  }

  function selectionIds(item) {
    return timelineRows(item)
      .filter((row) => row.classList.contains("selected"))
      .map((row) => row.dataset.timelineRow);
  }

  function selectionMove(item, step) {
    const rows = timelineRows(item);
    const here = rows.findIndex((row) => row.classList.contains("current"));
    if (here < 0) return;
    cursor = Math.max(0, Math.min(rows.length - 1, (cursor === null ? here : cursor) + step));
    selectionMark(item, here, cursor);
    rows[cursor].scrollIntoView({ block: "nearest" });
  }

  function selectionSince(item) {
    // From the oldest suspicious row (the list is newest first) to the newest row.
    const rows = timelineRows(item);
    let oldest = -1;
    rows.forEach((row, index) => { if (row.hasAttribute("data-suspicious")) oldest = index; });
    if (oldest < 0) return;
    cursor = oldest;
    selectionMark(item, 0, oldest);
  }

  function shown() {
    shownAt = performance.now();
    picking = false;
    cursor = null;
    const item = card("current");
    if (item) setTimeout(() => (item.dataset.ready = "true"), MIN_DWELL_MS);
    // The card's timeline scrolls (within its own box) to this transaction's row.
    const row = item && item.querySelector(".timeline tr.current");
    if (row) {
      const box = row.closest(".table-scroll");
      box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 3);
    }
    window.dispatchEvent(new CustomEvent("annotate:shown"));
  }

  const card = (slot) => document.querySelector(`#${slot} [data-transaction]`);

  function promote() {
    const current = document.getElementById("current");
    const next = document.getElementById("next");
    current.innerHTML = next.innerHTML;
    next.innerHTML = "";
    htmx.process(current);
    shown();
  }

  shown();

  // Requests go one at a time, in key order: each answer names the item shown when it is sent
  // (after the previous response has landed), so the server never offers that item again.
  let chain = Promise.resolve();
  function post(url, makeValues, target) {
    chain = chain
      .then(() => htmx.ajax("POST", url, { target: target, swap: "innerHTML", values: makeValues() }))
      .catch(() => {});
  }

  function answer(action) {
    const item = card("current");
    if (!item) return;
    const values = {
      transaction: item.dataset.transaction,
      token: item.dataset.token,
      suggested: item.dataset.suggested || "",
      action: action,
      elapsed_ms: Math.round(performance.now() - shownAt),
      case: action === "skip" || !cases ? "" : selectionIds(item).join(","),
    };
    promote();
    post(action === "skip" ? urls.skipUrl : urls.answerUrl, function () {
      const showing = card("current");
      return { ...values, showing: showing ? showing.dataset.transaction : "" };
    }, "#next");
  }

  function undo() {
    post(urls.undoUrl, () => ({}), "#workspace");
  }

  // A response can land while nothing is shown (the prefetch was empty): show it at once.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    const next = document.getElementById("next");
    if (event.detail.target.id === "next" && !card("current") && next.children.length) promote();
    if (event.detail.target.id === "workspace") shown();
  });

  // Mouse and keyboard-less users: the buttons do what the keys do.
  workspace.addEventListener("click", function (event) {
    const button = event.target.closest("#current button[name=action], #current button[data-key=s]");
    if (!button) return;
    event.preventDefault();
    if (button.dataset.key === "s") return answer("skip");
    if (button.hasAttribute("data-pick")) return startPicking();
    answer(button.value);
  });

  function startPicking() {
    picking = true;
    document.querySelectorAll("#current .digit").forEach((el) => (el.hidden = false));
  }

  // The key list shows only what works now: the showing item's buttons (no confirm at cold
  // start, none at all when the queue is empty), and undo once this session has answered.
  function keysAvailable(dialog) {
    const item = card("current");
    const answered = document.querySelector("#stats strong");
    const count = answered ? parseInt(answered.textContent.replace(/\D/g, ""), 10) || 0 : 0;
    dialog.querySelectorAll("tr[data-key]").forEach(function (row) {
      const key = row.dataset.key;
      if (key === "u") row.hidden = count === 0;
      else if (key === "timeline") row.hidden = !(cases && item && item.querySelector(".timeline"));
      else row.hidden = !(item && item.querySelector(`button[data-key="${key}"]`));
    });
    dialog.querySelector("[data-keys-none]").hidden = Boolean(item);
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]");
  }

  document.addEventListener("keydown", function (event) {
    if (event.repeat || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const dialog = document.getElementById("keys");
    if (event.key === "?") {
      if (dialog.open) dialog.close();
      else {
        keysAvailable(dialog);
        dialog.showModal();
      }
      return event.preventDefault();
    }
    if (dialog.open) return;
    const item = card("current");
    const key = event.key.toLowerCase();
    if (key === "u") return undo();
    if (!item || item.dataset.ready !== "true") return;
    if (cases && event.shiftKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      selectionMove(item, event.key === "ArrowDown" ? 1 : -1);
      return event.preventDefault();
    }
    if (event.key === "Escape" && cursor !== null) {
      cursor = null;
      selectionMark(item, -1, -1);
      return event.preventDefault();
    }
    if (cases && key === "a" && item.querySelector(".timeline") && !item.querySelector('button[data-key="a"]')) {
      selectionSince(item);
      return event.preventDefault();
    }
    if (picking && /^[1-9]$/.test(key)) {
      const button = item.querySelector(`button[data-digit="${key}"]`);
      if (button) answer(button.value);
      return event.preventDefault();
    }
    if (key === "enter" || key === "y") {
      const confirm = item.querySelector("button[value=confirm]");
      if (confirm) answer("confirm");
      return event.preventDefault();
    }
    if (key === "n") {
      const reject = item.querySelector("button[value=reject]");
      if (reject) reject.hasAttribute("data-pick") ? startPicking() : answer("reject");
      return;
    }
    if (key === "s") return answer("skip");
    const classButton = item.querySelector(`button.class-button[data-key="${key}"]`);
    if (classButton) answer(classButton.value);
  });
})();
