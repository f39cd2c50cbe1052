// Polls /api/rates every two seconds and redraws the table; the cookie carries the token.
"use strict";
(function () {
  const body = document.getElementById("rates-body");
  const updated = document.getElementById("rates-updated");
  const number = (value, digits) => (value === null ? "–" : value.toFixed(digits));
  const percent = (value) => (value === null ? "–" : (value * 100).toFixed(1) + " %");

  function cell(text, numeric) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "number";
    return td;
  }

  function draw(topics) {
    body.replaceChildren();
    for (const t of topics) {
      const row = document.createElement("tr");
      row.className = "rate";
      row.dataset.topic = t.topic;
      row.append(
        cell(t.topic, false),
        cell(number(t.jobs_per_s, 1), true),
        cell(number(t.dead_letters_per_s, 2), true),
        cell(percent(t.failure_ratio), true),
        cell(String(t.jobs), true),
        cell(String(t.dead_letters), true),
      );
      body.append(row);
    }
    if (!topics.length) body.append(Object.assign(document.createElement("tr"), { innerHTML: '<td colspan="6">No job topic with a dead-letter topic.</td>' }));
  }

  async function poll() {
    try {
      const answer = await fetch("/api/rates", { credentials: "same-origin" });
      if (answer.ok) {
        draw((await answer.json()).topics);
        updated.textContent = "updated " + new Date().toLocaleTimeString();
      } else {
        updated.textContent = "the console answered " + answer.status;
      }
    } catch (error) {
      updated.textContent = "no answer: " + error;
    }
    setTimeout(poll, 2000);
  }
  poll();
})();
