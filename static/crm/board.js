// The opportunities board: drag a card to another stage with a mouse or a finger (Pointer
// Events, not HTML5 drag and drop, which touch screens do not fire), or use its "Move to…"
// menu (keyboard, screen readers). A move posts to the server, which answers with the card as
// it now is and every column's figures; a conflict or a stage that needs a reason says so.
(function () {
  "use strict";
  var LONG_PRESS_MS = 350;
  var MOUSE_THRESHOLD = 6;
  var EDGE = 48;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (e) {
      var input = document.querySelector("input[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }
  }

  function board() { return document.getElementById("board"); }

  function say(text, isError) {
    var status = document.getElementById("board-status");
    if (status) { status.textContent = text; }
    var box = document.getElementById("board-message");
    if (!box) { return; }
    if (isError && text) {
      box.textContent = text;
      box.classList.remove("d-none");
    } else {
      box.classList.add("d-none");
    }
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function columnCards(stageId) {
    return document.querySelector('.board-cards[data-stage="' + stageId + '"]');
  }

  // Put the card the server sent where it belongs now, and refresh the column headers.
  function applyAnswer(oldCard, data) {
    Object.keys(data.columns || {}).forEach(function (stageId) {
      var head = document.getElementById("column-stats-" + stageId);
      if (head) { head.outerHTML = data.columns[stageId]; }
    });
    if (!data.card) { return; }
    var card = fragment(data.card);
    var target = columnCards(data.stage);
    if (oldCard) { oldCard.remove(); }
    if (!target || target.querySelector(".board-lazy")) { return; } // loads with it later
    var empty = target.querySelector(".board-empty");
    if (empty) { empty.remove(); }
    target.insertBefore(card, target.firstChild);
    if (window.htmx) { window.htmx.process(card); }
  }

  function resetMenu(card) {
    var select = card.querySelector(".card-move-select");
    if (select) { select.value = card.getAttribute("data-stage"); }
  }

  function move(card, stageId, extra) {
    if (String(stageId) === card.getAttribute("data-stage") && !extra) { return; }
    var form = new FormData();
    form.append("stage", stageId);
    form.append("version", card.getAttribute("data-version"));
    Object.keys(extra || {}).forEach(function (key) { form.append(key, extra[key]); });
    var query = board().getAttribute("data-querystring");
    var url = card.getAttribute("data-move-url") + (query ? "?" + query : "");
    card.classList.add("saving");
    return fetch(url, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (answer) {
      card.classList.remove("saving");
      var data = answer.data;
      if (answer.status === 422 && data.need_reason) {
        resetMenu(card);
        askReason(card, stageId);
        return;
      }
      if (answer.status === 200) {
        applyAnswer(card, data);
        say(data.message || "", false);
        var moved = document.getElementById("card-" + data.id);
        var label = document.getElementById("column-title-" + data.stage);
        say((label ? label.textContent.trim().split("\n")[0] : ""), false);
        if (moved) { moved.classList.add("just-moved"); }
        return;
      }
      if (answer.status === 409) {
        applyAnswer(card, data);
        say(data.error, true);
        return;
      }
      resetMenu(card);
      say(data.error || "Error", true);
    }).catch(function () {
      card.classList.remove("saving");
      resetMenu(card);
      say(document.getElementById("board").getAttribute("data-error") || "Network error", true);
    });
  }

  // -- the lost-reason dialog --
  var pendingReason = null;

  function askReason(card, stageId) {
    var dialog = document.getElementById("reason-dialog");
    if (!dialog) { return; }
    pendingReason = { card: card, stageId: stageId };
    dialog.querySelector("#reason-select").value = "";
    dialog.querySelector("#reason-note").value = "";
    dialog.showModal();
    dialog.querySelector("#reason-select").focus();
  }

  function setUpDialog() {
    var dialog = document.getElementById("reason-dialog");
    if (!dialog || dialog.dataset.ready) { return; }
    dialog.dataset.ready = "1";
    dialog.querySelector("#reason-form").addEventListener("submit", function (event) {
      var reason = dialog.querySelector("#reason-select").value;
      if (!reason) { event.preventDefault(); dialog.querySelector("#reason-select").focus(); return; }
      var pending = pendingReason;
      pendingReason = null;
      if (pending) {
        move(pending.card, pending.stageId, {
          lost_reason: reason,
          lost_note: dialog.querySelector("#reason-note").value,
        });
      }
    });
    dialog.querySelector("#reason-cancel").addEventListener("click", function () {
      pendingReason = null;
      dialog.close();
    });
  }

  // -- dragging --
  var drag = null; // {card, ghost, dx, dy, pointerId, over}
  var pending = null; // a press that may become a drag {card, x, y, timer, pointerId, type}

  function columnAt(x, y) {
    var element = document.elementFromPoint(x, y);
    return element ? element.closest(".board-column") : null;
  }

  function startDrag(card, x, y, pointerId) {
    var rect = card.getBoundingClientRect();
    var ghost = card.cloneNode(true);
    ghost.removeAttribute("id");
    ghost.classList.add("board-ghost");
    ghost.style.width = rect.width + "px";
    ghost.style.left = rect.left + "px";
    ghost.style.top = rect.top + "px";
    document.body.appendChild(ghost);
    card.classList.add("dragging");
    drag = { card: card, ghost: ghost, dx: x - rect.left, dy: y - rect.top, pointerId: pointerId, over: null };
    if (navigator.vibrate) { try { navigator.vibrate(15); } catch (e) { /* not allowed */ } }
  }

  function dragTo(x, y) {
    drag.ghost.style.left = x - drag.dx + "px";
    drag.ghost.style.top = y - drag.dy + "px";
    var column = columnAt(x, y);
    if (column !== drag.over) {
      if (drag.over) { drag.over.classList.remove("drop-target"); }
      if (column) { column.classList.add("drop-target"); }
      drag.over = column;
    }
    // Near the board's edges, scroll it so that far columns can be reached.
    var container = board();
    var rect = container.getBoundingClientRect();
    if (x < rect.left + EDGE) { container.scrollLeft -= 12; }
    else if (x > rect.right - EDGE) { container.scrollLeft += 12; }
  }

  function endDrag(drop) {
    var state = drag;
    drag = null;
    state.ghost.remove();
    state.card.classList.remove("dragging");
    if (state.over) { state.over.classList.remove("drop-target"); }
    if (drop && state.over) {
      var stageId = state.over.getAttribute("data-stage");
      if (stageId !== state.card.getAttribute("data-stage")) {
        move(state.card, stageId);
      }
    }
  }

  function cancelPending() {
    if (pending && pending.timer) { clearTimeout(pending.timer); }
    pending = null;
  }

  function onPointerDown(event) {
    var card = event.target.closest(".board-card");
    if (!card || !card.closest("#board") || drag) { return; }
    if (event.button !== undefined && event.button !== 0) { return; }
    var onHandle = !!event.target.closest(".drag-handle");
    var interactive = event.target.closest("select, button, input, label, option");
    if (interactive && !onHandle) { return; }
    if (onHandle) {
      event.preventDefault();
      startDrag(card, event.clientX, event.clientY, event.pointerId);
      return;
    }
    pending = { card: card, x: event.clientX, y: event.clientY, pointerId: event.pointerId, type: event.pointerType };
    if (event.pointerType !== "mouse") {
      // A finger holds still on a card: that starts a drag; moving first scrolls the page.
      pending.timer = setTimeout(function () {
        if (pending) {
          var p = pending;
          pending = null;
          startDrag(p.card, p.x, p.y, p.pointerId);
        }
      }, LONG_PRESS_MS);
    }
  }

  function onPointerMove(event) {
    if (drag) {
      if (event.pointerId !== drag.pointerId) { return; }
      event.preventDefault();
      dragTo(event.clientX, event.clientY);
      return;
    }
    if (!pending || event.pointerId !== pending.pointerId) { return; }
    var distance = Math.abs(event.clientX - pending.x) + Math.abs(event.clientY - pending.y);
    if (pending.type === "mouse") {
      if (distance > MOUSE_THRESHOLD) {
        var p = pending;
        pending = null;
        startDrag(p.card, p.x, p.y, p.pointerId);
        dragTo(event.clientX, event.clientY);
      }
    } else if (distance > 10) {
      cancelPending(); // the finger is scrolling
    }
  }

  function onPointerUp(event) {
    if (drag && event.pointerId === drag.pointerId) {
      endDrag(true);
      suppressClick = true;
      setTimeout(function () { suppressClick = false; }, 0);
      return;
    }
    cancelPending();
  }

  function onPointerCancel(event) {
    if (drag && event.pointerId === drag.pointerId) { endDrag(false); }
    cancelPending();
  }

  var suppressClick = false;

  function setUp() {
    if (document.documentElement.dataset.boardReady) { return; }
    document.documentElement.dataset.boardReady = "1";
    document.addEventListener("pointerdown", onPointerDown);
    document.addEventListener("pointermove", onPointerMove, { passive: false });
    document.addEventListener("pointerup", onPointerUp);
    document.addEventListener("pointercancel", onPointerCancel);
    // While a finger drags, the page must not scroll under it.
    document.addEventListener("touchmove", function (event) {
      if (drag) { event.preventDefault(); }
    }, { passive: false });
    // A link or image dragged natively would cancel the pointer stream.
    document.addEventListener("dragstart", function (event) {
      if (event.target.closest && event.target.closest("#board .board-card")) { event.preventDefault(); }
    });
    document.addEventListener("contextmenu", function (event) {
      if (drag || (pending && pending.type !== "mouse")) { event.preventDefault(); }
    });
    document.addEventListener("click", function (event) {
      if (suppressClick && event.target.closest(".board-card")) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && drag) { endDrag(false); }
    });
    // The "Move to…" menu.
    document.addEventListener("change", function (event) {
      var select = event.target.closest(".card-move-select");
      if (!select) { return; }
      var card = select.closest(".board-card");
      if (card && card.closest("#board")) { move(card, select.value); }
    });
    // A column's page that arrives after a move may repeat a card already shown.
    document.body.addEventListener("htmx:afterSwap", function () {
      var seen = {};
      document.querySelectorAll("#board .board-card").forEach(function (card) {
        if (seen[card.id]) { card.remove(); } else { seen[card.id] = true; }
      });
    });
    setUpDialog();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
  window.crmBoard = { move: move };
})();
