// The tracking page's live updates: follow /v0/status/stream and re-render the status, the
// progress line, the amounts, the transactions and the history. No framework, no build step.
"use strict";
(function () {
  var body = document.body;
  var STEP = { PENDING_DEPOSIT: 0, KNOWN_DEPOSIT_TX: 0, INCOMPLETE_DEPOSIT: 0, PROCESSING: 1,
               SUCCESS: 3, REFUNDED: 3, FAILED: -1 };
  var $ = function (id) { return document.getElementById(id); };

  function safeUrl(url) { return /^https?:\/\//.test(url || "") ? url : null; }

  function txItem(label, hash, url) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.className = "label";
    name.textContent = label + " ";
    li.appendChild(name);
    var target = safeUrl(url);
    var node = document.createElement(target ? "a" : "code");
    node.textContent = hash;
    if (target) { node.href = target; node.rel = "noopener noreferrer"; }
    li.appendChild(node);
    return li;
  }

  function renderTxs(details) {
    var list = $("txs");
    var items = [];
    (details.originChainTxHashes || []).forEach(function (t) {
      items.push(txItem("Origin chain", t.hash, t.explorerUrl));
    });
    (details.nearTxHashes || []).forEach(function (h) {
      items.push(txItem("NEAR", h, body.dataset.nearExplorer.replace("{hash}", h)));
    });
    (details.destinationChainTxHashes || []).forEach(function (t) {
      items.push(txItem("Destination chain", t.hash, t.explorerUrl));
    });
    if (!items.length) { return; }
    list.replaceChildren.apply(list, items);
  }

  // Base units as a decimal string, exactly (no floats): "1500000", 6 -> "1.5".
  function formatUnits(value, decimals) {
    if (!/^\d+$/.test(value) || !(decimals > 0)) { return value; }
    var padded = value.padStart(decimals + 1, "0");
    var whole = padded.slice(0, -decimals);
    var fraction = padded.slice(-decimals).replace(/0+$/, "");
    return fraction ? whole + "." + fraction : whole;
  }

  function amountText(value, asset) {
    if (asset === body.dataset.inAsset) {
      return formatUnits(value, Number(body.dataset.inDecimals)) + " " + body.dataset.inSymbol;
    }
    return value;
  }

  function renderDeposits(lines) {
    if (!lines || !lines.length) { return; }
    var list = $("deposits");
    var items = lines.map(function (line) {
      var parts = [amountText(line.amount, line.asset) + ": " + line.status];
      if (line.swappedAmount && line.swappedAmount !== line.amount) { parts.push("swapped " + amountText(line.swappedAmount, line.asset)); }
      if (line.refundedAmount && line.refundedAmount !== line.amount) { parts.push("refunded " + amountText(line.refundedAmount, line.asset)); }
      if (line.reason) { parts.push("(" + line.reason + ")"); }
      var li = txItem(parts.join(", ") + " tx", line.txHash, line.explorerUrl);
      (line.refundTxHashes || []).forEach(function (t) {
        var refund = txItem(" refund", t.hash, t.explorerUrl);
        while (refund.firstChild) { li.appendChild(refund.firstChild); }
      });
      return li;
    });
    list.replaceChildren.apply(list, items);
  }

  function renderProgress(status) {
    var step = STEP[status];
    var steps = document.querySelectorAll("#progress li");
    steps.forEach(function (li, index) {
      var state = step < 0 ? (index === 0 ? "done" : "todo")
        : index < step ? "done" : index === step ? "current" : "todo";
      li.dataset.state = state;
      if (state === "current") { li.setAttribute("aria-current", "step"); }
      else { li.removeAttribute("aria-current"); }
    });
  }

  function addHistory(change) {
    var list = $("history");
    if (list.querySelector('[data-seq="' + change.seq + '"]')) { return; }
    var li = document.createElement("li");
    li.dataset.seq = String(change.seq);
    var when = document.createElement("time");
    when.dateTime = change.at;
    when.textContent = change.at.replace("T", " ").replace(/\.\d+Z$/, " UTC");
    li.appendChild(when);
    li.appendChild(document.createTextNode(" " + change.to + (change.reason ? " \u2014 " + change.reason : "")));
    list.appendChild(li);
  }

  function render(data) {
    var status = data.status;
    body.dataset.status = status;
    $("status").textContent = status;
    document.title = document.title.replace(/^[A-Z_]+/, status);
    renderProgress(status);
    var details = data.swapDetails || {};
    if (details.amountOutFormatted) {
      $("delivered").textContent = details.amountOutFormatted + " " + body.dataset.outSymbol;
    }
    if (details.refundedAmountFormatted) {
      $("refunded").textContent = details.refundedAmountFormatted + " " + body.dataset.inSymbol;
    }
    if (details.refundReason) { $("refund-reason").textContent = details.refundReason; }
    renderTxs(details);
    renderDeposits(details.deposits);
    if (data.transition) { addHistory(data.transition); }
  }

  if (!window.EventSource) { return; }
  var live = $("live");
  var source = new EventSource(body.dataset.stream);
  source.onopen = function () { live.textContent = "Live: updates appear here by themselves."; body.dataset.live = "open"; };
  source.onerror = function () { live.textContent = "Reconnecting\u2026"; body.dataset.live = "retrying"; };
  source.addEventListener("status", function (event) { render(JSON.parse(event.data)); });
  source.addEventListener("end", function () {
    source.close();
    live.textContent = "This swap is finished.";
    body.dataset.live = "ended";
  });
})();
