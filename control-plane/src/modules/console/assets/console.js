// Churn console: small progressive enhancements. Every page works without this file; it only opens
// confirmation dialogs, copies secrets and redraws the what-if chart. Loaded same-origin (CSP script-src 'self').

function onReady(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

// Confirmation dialogs: a button with data-open="id" opens <dialog id="id">; data-close closes its dialog.
function wireDialogs() {
  for (const button of document.querySelectorAll("[data-open]")) {
    button.addEventListener("click", () => {
      const dialog = document.getElementById(button.getAttribute("data-open"));
      if (dialog && typeof dialog.showModal === "function") {
        dialog.showModal();
        const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
        if (first) first.focus();
      }
    });
  }
  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => button.closest("dialog")?.close());
  }
}

// Copy buttons: data-copy="id" copies that element's text; the status is announced to screen readers.
function wireCopy() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.getAttribute("data-copy"));
      const status = button.parentElement?.querySelector(".copy-status");
      if (!source) return;
      const text = source.textContent || "";
      let copied = false;
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection?.removeAllRanges();
        selection?.addRange(range);
        copied = document.execCommand?.("copy") ?? false;
      }
      if (status) status.textContent = copied ? "Copied" : "Selected: press Ctrl+C to copy";
    });
  }
}

const SVG = "http://www.w3.org/2000/svg";
const money = (n) =>
  `${n < 0 ? "−" : ""}$${Math.abs(n).toLocaleString("en-US", { maximumFractionDigits: Math.abs(n) >= 100 ? 0 : 2 })}`;

function niceMax(value) {
  if (value <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * exp) return step * exp;
  return 10 * exp;
}

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// What-if: the stored curve was computed for the manifest's economics. Since profit(t) is
// acceptance·value·churners(t) − cost·contactRate(t), the share of churners contacted at each threshold can
// be recovered from it, and the curve recomputed for any other value, cost and acceptance.
function wireWhatIf() {
  const root = document.getElementById("what-if");
  const svg = document.getElementById("profit-chart");
  if (!root || !svg) return;
  const curve = JSON.parse(root.dataset.curve);
  const base = {
    value: Number(root.dataset.value),
    cost: Number(root.dataset.cost),
    acceptance: Number(root.dataset.acceptance),
  };
  const perWeek = Number(root.dataset.perWeek);
  const churners = curve.map((p) =>
    base.acceptance * base.value > 0
      ? (p.expectedProfit + base.cost * p.contactRate) / (base.acceptance * base.value)
      : 0,
  );
  const inputs = {
    threshold: document.getElementById("wi-threshold"),
    value: document.getElementById("wi-value"),
    cost: document.getElementById("wi-cost"),
    acceptance: document.getElementById("wi-acceptance"),
  };
  const out = {
    threshold: document.getElementById("wi-threshold-out"),
    contact: document.getElementById("wi-contact"),
    profit: document.getElementById("wi-profit"),
    week: document.getElementById("wi-week"),
    best: document.getElementById("wi-best"),
  };
  const [padL, padR, padT, padB] = svg.dataset.pad.split(",").map(Number);
  const W = Number(svg.dataset.w);
  const H = Number(svg.dataset.h);

  function draw() {
    const value = Number(inputs.value.value) || 0;
    const cost = Number(inputs.cost.value) || 0;
    const acceptance = Math.min(1, Math.max(0, Number(inputs.acceptance.value) || 0));
    const t = Number(inputs.threshold.value);
    const profit = curve.map((p, i) => acceptance * value * churners[i] - cost * p.contactRate);
    const lo = Math.min(0, ...profit);
    const hi = Math.max(0, ...profit);
    const yMin = lo < 0 ? -niceMax(-lo) : 0;
    const yMax = niceMax(hi);
    const n = curve.length - 1;
    const x = (i) => padL + ((W - padL - padR) * i) / n;
    const y = (v) => padT + (H - padT - padB) * (1 - (v - yMin) / (yMax - yMin || 1));
    const index = curve.reduce(
      (best, p, i) => (Math.abs(p.threshold - t) < Math.abs(curve[best].threshold - t) ? i : best),
      0,
    );
    const bestIndex = profit.reduce((best, v, i) => (v > profit[best] ? i : best), 0);

    while (svg.lastChild) svg.removeChild(svg.lastChild);
    svg.appendChild(el("title", {}, "Expected profit per scored customer by contact threshold"));
    for (let k = 0; k <= 5; k++) {
      const v = yMin + ((yMax - yMin) * k) / 5;
      svg.appendChild(el("line", { class: "grid", x1: padL, x2: W - padR, y1: y(v), y2: y(v) }));
      svg.appendChild(
        el("text", { class: "tick", x: padL - 6, y: y(v) + 4, "text-anchor": "end" }, money(v)),
      );
    }
    if (yMin < 0) svg.appendChild(el("line", { class: "axis", x1: padL, x2: W - padR, y1: y(0), y2: y(0) }));
    svg.appendChild(
      el("path", {
        class: "line s1",
        d: profit.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(""),
      }),
    );
    const marker = el("g", { class: "marker" });
    marker.appendChild(el("line", { x1: x(index), x2: x(index), y1: padT, y2: H - padB }));
    marker.appendChild(
      el("text", { x: x(index) + 4, y: padT + 12 }, `threshold ${curve[index].threshold.toFixed(2)}`),
    );
    svg.appendChild(marker);
    svg.appendChild(el("circle", { class: "dot s1", cx: x(index), cy: y(profit[index]), r: 4 }));
    const every = Math.ceil(curve.length / 8);
    curve.forEach((p, i) => {
      if (i % every === 0 || i === n)
        svg.appendChild(
          el("text", { class: "tick", x: x(i), y: H - 8, "text-anchor": "middle" }, p.threshold.toFixed(2)),
        );
    });

    out.threshold.textContent = curve[index].threshold.toFixed(2);
    out.contact.textContent = `${(curve[index].contactRate * 100).toFixed(1)} %`;
    out.profit.textContent = money(profit[index]);
    out.week.textContent = money(profit[index] * perWeek);
    out.best.textContent =
      profit[bestIndex] > 0
        ? `${curve[bestIndex].threshold.toFixed(2)} (${money(profit[bestIndex])})`
        : "none: no contact pays off";
  }
  for (const input of Object.values(inputs)) input.addEventListener("input", draw);
  draw();
}

onReady(() => {
  wireDialogs();
  wireCopy();
  wireWhatIf();
});
