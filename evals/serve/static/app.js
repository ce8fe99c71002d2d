// codecrew dashboard: sortable tables, live run progress, the benchmark form. No libraries.
"use strict";

function sortTable(th) {
  const table = th.closest("table");
  const index = Array.from(th.parentNode.children).indexOf(th);
  const numeric = th.dataset.type === "num";
  const ascending = th.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  const key = (row) => {
    const cell = row.children[index];
    const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    return raw === "" ? -Infinity : parseFloat(raw);
  };
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
  });
  rows.forEach((row) => body.appendChild(row));
}

function pollRun(box) {
  const id = box.dataset.run;
  const tick = async () => {
    const response = await fetch(`/api/runs/${encodeURIComponent(id)}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const run = await response.json();
    document.getElementById("run-status").textContent = run.status;
    document.getElementById("run-status").className = `status-${run.status}`;
    const bar = document.getElementById("run-progress");
    bar.max = run.total || 1;
    bar.value = run.done;
    document.getElementById("run-count").textContent = `${run.done}/${run.total}`;
    if (run.status === "queued" || run.status === "running") setTimeout(tick, 1000);
    else window.location.reload();
  };
  setTimeout(tick, 500);
}

async function startBenchmark(form) {
  const problem = document.getElementById("benchmark-problem");
  problem.textContent = "";
  const data = new FormData(form);
  const body = {
    suite: data.get("suite"),
    models: String(data.get("models")).split(",").map((m) => m.trim()).filter(Boolean),
    samples: parseInt(data.get("samples") || "1", 10),
  };
  if (data.get("limit")) body.limit = parseInt(data.get("limit"), 10);
  const response = await fetch("/api/performance/benchmark", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (response.status === 202) window.location.href = answer.page_url;
  else problem.textContent = answer.detail || `error ${response.status}`;
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable th").forEach((th) => th.addEventListener("click", () => sortTable(th)));
  const box = document.getElementById("progress");
  if (box && (box.dataset.status === "queued" || box.dataset.status === "running")) pollRun(box);
  const form = document.getElementById("benchmark");
  if (form) form.addEventListener("submit", (event) => { event.preventDefault(); startBenchmark(form); });
});
