// Token-link view: tokens in two columns, a line from each token to every token it attends to,
// opacity = weight. Hover a token to see only its links; click to select it, shift-click to
// select several: their links stay, and the other column shows the selected tokens' summed
// attention. Data comes in DATA (set by the page): rows/cols labels, segments, and links as
// base64 (i, j, percent) byte triplets.
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
  let hover = null;  // ["row", i] or ["col", j]
  let picked = { side: null, keys: new Set() };  // clicked tokens, all on one side

  function label(text, side, k, segment) {
    const el = document.createElement("div");
    el.className = "tok " + side;
    const word = document.createElement("span");
    word.textContent = text;  // never innerHTML: tokens are user text
    const sum = document.createElement("span");
    sum.className = "sum";
    el.append(word, sum);
    el.style.top = TOP + k * ROW + "px";
    el.style.left = (side === "row" ? 0 : COLW + GAP) + "px";
    el.style.borderColor = colours[segment] || "#999";
    el.onmouseenter = () => { hover = [side, k]; update(); };
    el.onmouseleave = () => { hover = null; update(); };
    el.onclick = (event) => { pick(side, k, event.shiftKey); update(); };
    root.appendChild(el);
    return el;
  }
  const rowEls = D.rows.map((t, i) => label(t, "row", i, D.rowSegments[i]));
  const colEls = D.cols.map((t, j) => label(t, "col", j, D.colSegments[j]));

  function pick(side, k, add) {
    if (picked.side !== side) picked = { side, keys: new Set() };
    if (add) {
      picked.keys.has(k) ? picked.keys.delete(k) : picked.keys.add(k);
    } else {
      const only = picked.keys.size === 1 && picked.keys.has(k);
      picked.keys = only ? new Set() : new Set([k]);
    }
    if (!picked.keys.size) picked.side = null;
  }
  // The tokens whose links show: the selection if any, else the hovered token, else all.
  function shown(side, k) {
    if (picked.side) return picked.side === side && picked.keys.has(k);
    return !!hover && hover[0] === side && hover[1] === k;
  }
  const anyFocus = () => !!picked.side || !!hover;
  function update() { draw(); mark(); sums(); }
  function mark() {
    rowEls.forEach((el, i) => el.classList.toggle("dim", anyFocus() && !shown("row", i)));
    colEls.forEach((el, j) => el.classList.toggle("dim", anyFocus() && !shown("col", j)));
    rowEls.forEach((el, i) => el.classList.toggle("picked", picked.side === "row" && picked.keys.has(i)));
    colEls.forEach((el, j) => el.classList.toggle("picked", picked.side === "col" && picked.keys.has(j)));
  }
  function sums() {
    const other = picked.side === "row" ? colEls : rowEls;
    const total = new Array(other.length).fill(0);
    for (const [i, j, w] of links) {
      if (picked.side === "row" && picked.keys.has(i)) total[j] += w;
      if (picked.side === "col" && picked.keys.has(j)) total[i] += w;
    }
    [...rowEls, ...colEls].forEach((el) => { el.lastChild.textContent = ""; });
    if (!picked.side) return;
    other.forEach((el, k) => {
      if (total[k] >= 0.005) el.lastChild.textContent = " " + Math.round(total[k] * 100) + "%";
      el.classList.remove("dim");
    });
  }
  function draw() {
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.lineWidth = 2;
    for (const [i, j, w] of links) {
      if (anyFocus() && !(shown("row", i) || shown("col", j))) continue;
      g.strokeStyle = "rgba(31, 90, 180," + Math.min(1, anyFocus() ? 0.15 + w : w) + ")";
      g.beginPath();
      g.moveTo(0, TOP + i * ROW + ROW / 2);
      g.lineTo(GAP, TOP + j * ROW + ROW / 2);
      g.stroke();
    }
  }
  update();
})();
