() => {
  // Every plot's mode bar gets "Download plot as SVG" beside Plotly's own PNG camera: vector
  // figures for papers. Gradio loads Plotly lazily and draws with Plotly.react, so react is
  // wrapped once Plotly exists, and plots drawn before that are drawn again with the button.
  const svgButton = (P) => ({
    name: "Download plot as SVG",
    icon: P.Icons.disk,
    click: (gd) => P.downloadImage(gd, { format: "svg", filename: "bertviz_lite" }),
  });
  // The query–key view (views/qk_space.py) puts each point's text number in its customdata and
  // the texts and head in layout.meta.qk: a click opens that text in the One head view at that
  // head, through the address (the app restores a link's state on load). The text only ever
  // travels as a URL parameter, never as markup. One listener per plot, for whatever it draws.
  const openOnClick = (gd) => {
    if (gd.__qkClick || typeof gd.on !== "function") return;
    gd.__qkClick = true;
    gd.on("plotly_click", (event) => {
      const qk = gd.layout && gd.layout.meta && gd.layout.meta.qk;
      const point = event && event.points && event.points[0];
      if (!qk || !point || point.customdata == null) return;
      const c = point.customdata;
      const text = qk.texts[String(typeof c === "object" ? c[0] : c)];
      if (typeof text !== "string") return;
      const u = new URLSearchParams(location.search);
      u.set("text", text);
      u.delete("pair");
      u.set("view", "head");
      u.set("layer", qk.layer);
      u.set("head", qk.head);
      location.search = u.toString();
    });
  };
  const patch = () => {
    const P = window.Plotly;
    if (!P) return false;
    if (P.__svgButton) return true;
    const react = P.react;
    P.react = function (gd, data, layout, config) {
      // PNGs are named for the app too (Plotly's default is "newplot.png").
      const extra = { modeBarButtonsToAdd: [svgButton(P)], displaylogo: false,
                      toImageButtonOptions: { filename: "bertviz_lite" } };
      const drawn = react.call(this, gd, data, layout, Object.assign({}, config || {}, extra));
      Promise.resolve(drawn).then(() => openOnClick(gd));
      return drawn;
    };
    P.__svgButton = true;
    document.querySelectorAll(".js-plotly-plot").forEach((gd) => {
      if (gd.data) P.react(gd, gd.data, gd.layout, gd._context);
    });
    return true;
  };
  const timer = setInterval(() => { if (patch()) clearInterval(timer); }, 200);
  // With a <base> element in the page (Gradio's has one), Plotly writes colour-bar gradients and
  // clip paths as url('<page address>#id'). When the address bar follows the view
  // (history.replaceState), those point at another document and colour bars turn white: point
  // them at the new address. Called after every address change (ui.SYNC_URL).
  window.bertvizRebase = () => {
    const base = location.href.split("#")[0];
    document.querySelectorAll(".js-plotly-plot").forEach((gd) => {
      const old = gd._context && gd._context._baseUrl;
      if (!old || old === base) return;
      gd._context._baseUrl = base;
      gd.querySelectorAll("[style*='url('], [clip-path], [fill]").forEach((el) => {
        for (const name of ["style", "clip-path", "fill"]) {
          const value = el.getAttribute(name);
          if (value && value.includes(old + "#")) {
            el.setAttribute(name, value.split(old + "#").join(base + "#"));
          }
        }
      });
    });
  };
}
