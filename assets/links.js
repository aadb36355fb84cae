// Token-link view: tokens in two columns, a line from each token to every token it attends to,
// opacity = weight. Hover a token to see only its links. Data comes in DATA (set by the page):
// rows/cols labels, segments, and links as base64 (i, j, percent) byte triplets.
(function () {
  const D = DATA;
  const bytes = Uint8Array.from(atob(D.links), (c) => c.charCodeAt(0));
  const wide = D.rows.length > 255 || D.cols.length > 255;
  const links = [];
  const step = wide ? 5 : 3;
  for (let k = 0; k + step <= bytes.length; k += step) {
    const i = wide ? bytes[k] * 256 + bytes[k + 1] : bytes[k];
    const j = wide ? bytes[k + 2] * 256 + bytes[k + 3] : bytes[k + 1];
    links.push([i, j, bytes[k + step - 1] / 100]);
  }
  const ROW = 18, TOP = 8, COLW = 150, GAP = 220;
  const colours = ["#1f77b4", "#ff7f0e"];
  const root = document.getElementById("view");
  const canvas = document.getElementById("lines");
  const height = TOP * 2 + ROW * Math.max(D.rows.length, D.cols.length);
  canvas.width = GAP; canvas.height = height;
  canvas.style.left = COLW + "px";
  root.style.height = height + "px";
  let focus = null;  // ["row", i] or ["col", j]

  function label(text, side, k, segment) {
    const el = document.createElement("div");
    el.className = "tok " + side;
    el.textContent = text;  // never innerHTML: tokens are user text
    el.style.top = TOP + k * ROW + "px";
    el.style.left = (side === "row" ? 0 : COLW + GAP) + "px";
    el.style.borderColor = colours[segment] || "#999";
    el.onmouseenter = () => { focus = [side, k]; draw(); mark(); };
    el.onmouseleave = () => { focus = null; draw(); mark(); };
    root.appendChild(el);
    return el;
  }
  const rowEls = D.rows.map((t, i) => label(t, "row", i, D.rowSegments[i]));
  const colEls = D.cols.map((t, j) => label(t, "col", j, D.colSegments[j]));

  function mark() {
    rowEls.forEach((el, i) => el.classList.toggle("dim", !!focus && !(focus[0] === "row" && focus[1] === i)));
    colEls.forEach((el, j) => el.classList.toggle("dim", !!focus && !(focus[0] === "col" && focus[1] === j)));
  }
  function draw() {
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.lineWidth = 2;
    for (const [i, j, w] of links) {
      if (focus && !((focus[0] === "row" && focus[1] === i) || (focus[0] === "col" && focus[1] === j))) continue;
      g.strokeStyle = "rgba(31, 90, 180," + Math.min(1, focus ? 0.15 + w : w) + ")";
      g.beginPath();
      g.moveTo(0, TOP + i * ROW + ROW / 2);
      g.lineTo(GAP, TOP + j * ROW + ROW / 2);
      g.stroke();
    }
  }
  draw();
})();
