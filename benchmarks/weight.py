"""3. Page weight: each view's payload as Gradio sends it, beside bertviz's head_view and model_view.

Ours from `events.render` with the page's defaults on the app's model; bertviz's HTML on the
attention tuple of transformers' BertModel on the same checkpoint and input.
"""

from __future__ import annotations

import gc
import io
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .common import GZIP_LEVEL, MODEL, Corpus, Settings, fill, gz, log, pct, rows, size


@dataclass
class WeightResult:
    lengths: tuple[int, ...]
    views: dict[int, dict[str, tuple[int, int]]] = field(default_factory=dict)  # raw, gzip
    bertviz: dict[int, dict[str, tuple[int, int]]] = field(default_factory=dict)
    downloads: dict[int, dict[str, int]] = field(default_factory=dict)
    cdn: list[str] = field(default_factory=list)

    def worst(self, n: int) -> tuple[str, float, float]:
        """The heaviest of our views against bertviz's head_view: (view, raw ratio, gzip ratio)."""
        ref_raw, ref_gz = self.bertviz[n]["bertviz head_view"]
        name = max(self.views[n], key=lambda k: self.views[n][k][0] / ref_raw)
        raw, zipped = self.views[n][name]
        return name, raw / ref_raw, zipped / ref_gz


def external_scripts(page: str) -> list[str]:
    """Scripts a page loads from the web: <script src> and require.js `paths` URLs."""
    tags = re.findall(r'<script[^>]*\bsrc="(https?://[^"]+)"', page)
    required = re.findall(r"\w+:\s*'(https?://[^']+)'", page)  # require.config({paths: {...}})
    return sorted(set(tags + required))


def payloads(text: str) -> tuple[dict[str, bytes], dict[str, int], object]:
    """Our views' payloads for `text` with the page's defaults, the download files' sizes, and
    the analysis they were drawn from."""
    from PIL import Image

    from bertviz_lite import events, urlstate

    state = urlstate.default_state(events.shape(MODEL), text=text)
    head = events.render(state, "head")
    links = events.render(state.replace(style="links"), "head")
    webp = io.BytesIO()
    overview = events.render(state, "overview")["overview.grid"]
    Image.fromarray(overview).save(webp, "WEBP")  # as gr.Image(format="webp")
    vectors = events.render(state, "embeddings")
    out = {
        "head heatmap (fig.to_json)": head["head.plot"].to_json().encode(),
        "token links (HTML)": links["head.links"].encode(),
        "overview (WEBP image)": webp.getvalue(),
        "embeddings projection (fig.to_json)": vectors["embeddings.projection"].to_json().encode(),
        "similarity (fig.to_json)": vectors["embeddings.similarity"].to_json().encode(),
    }
    files = events.render(state, "export")
    sizes = {Path(files[k]).suffix: Path(files[k]).stat().st_size for k in ("export.npz", "export.json")}  # fmt: skip
    shutil.rmtree(Path(files["export.npz"]).parent, ignore_errors=True)
    r, _ = events.run_inputs(state.model, state.text, state.pair)
    return out, sizes, r


def bench_weight(s: Settings, corpus: Corpus, checkpoint: Path) -> WeightResult:
    import torch
    import transformers
    from bertviz import head_view, model_view

    transformers.logging.set_verbosity_error()
    hf = transformers.BertModel.from_pretrained(str(checkpoint), attn_implementation="eager")
    hf.eval()
    result = WeightResult(lengths=s.weight_lengths)
    for n in s.weight_lengths:
        views, result.downloads[n], r = payloads(corpus.text(n))
        result.views[n] = {k: (len(v), gz(v)) for k, v in views.items()}
        with torch.no_grad():
            attention = hf(input_ids=torch.tensor([r.encoding.ids]),
                           token_type_ids=torch.tensor([r.encoding.type_ids]),
                           output_attentions=True).attentions  # fmt: skip
        result.bertviz[n] = {}
        for name, view in (("bertviz head_view", head_view), ("bertviz model_view", model_view)):
            t0 = time.perf_counter()
            page = view(attention, r.tokens, html_action="return").data.encode()
            result.bertviz[n][name] = (len(page), gz(page))
            log(f"{name} at {n} tokens: {size(len(page))} ({time.perf_counter() - t0:.0f} s)")
            if not result.cdn:
                result.cdn = external_scripts(page.decode())
            del page
            gc.collect()
    del hf
    gc.collect()
    return result


def render_weight(w: WeightResult) -> str:
    table = []
    for n in w.lengths:
        ref_raw, ref_gz = w.bertviz[n]["bertviz head_view"]
        for name, (raw, zipped) in {**w.views[n], **w.bertviz[n]}.items():
            table.append(
                [name, n, size(raw), size(zipped), pct(raw / ref_raw), pct(zipped / ref_gz)]
            )
    cdn = fill("weight.cdn", scripts=", ".join(w.cdn)) if w.cdn else fill("weight.no_cdn")
    downloads = "; ".join(f"{n} tokens: .npz {size(d['.npz'])}, .json {size(d['.json'])}"
                          for n, d in w.downloads.items())  # fmt: skip
    return fill("weight", level=GZIP_LEVEL, rows=rows(table), cdn=cdn, downloads=downloads)
