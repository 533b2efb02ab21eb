"""Briefing export on the server: chart PNGs, the whole briefing as one PNG and as a PDF.

One Chromium (Debian's), driven by kaleido, makes every image of a briefing:
- the charts: kaleido renders each plotly figure to PNG in its tab;
- the whole briefing: an HTML page (every text escaped, `dir="rtl"` on Arabic, the chart PNGs
  embedded as data URIs) then opened in that same tab and captured through the DevTools
  protocol as one full-page PNG (Page.captureScreenshot) and an A4 PDF (Page.printToPDF).
  Chromium shapes Arabic and lays it out right to left in both.

Why not kaleido's sync server: it only runs kaleido's own figure methods, so the page would
need a second browser (one more start-up, several seconds on a slow machine), and when the
browser fails to start its thread dies while the caller waits forever. Here the browser lives
in a private event loop on a worker thread (:class:`Renderer`, kept open between exports),
errors come back to the caller, and the event loop never meets Streamlit's.

Speed: on two slow cores most of the time is Chromium and plotly.js starting, not drawing. So
kaleido loads plotly.js's *basic* bundle (scatter, bar and pie: all the briefing draws;
`vendor/plotly-basic.min.js`, the same plotly.js version as plotly.py's, MIT), whose start-up is
~4x shorter than the full 4.8 MB bundle's, and keeps its tab between figures instead of reloading
the page (and plotly.js) after each one. Both give pixel-identical images. Any other trace type,
or a plotly upgrade that leaves the vendored file behind, falls back to the full bundle.

No Chromium: :class:`ExportUnavailable` with the install command; everything else works. A
rendering failure: :class:`ExportError` (its parent); each chart and the page load wait at most
`timeout` seconds.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import html
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from . import analytics as A
from .briefing import TITLE, Briefing, Chart, count, fmt_tone, signed, to_markdown
from .charts import INK, MUTED, ORIGIN_COLORS, SOURCE_NOTE
from .text import is_rtl

INSTALL_HINT = "sudo apt-get install -y chromium"
BASIC_JS = Path(__file__).resolve().parent / "vendor" / "plotly-basic.min.js"
BASIC_TRACES = {"scatter", "bar", "pie"}
CHART_WIDTH, CHART_SCALE = 1000, 1.6  # 1600 px wide chart PNGs
PAGE_WIDTH, PAGE_SCALE = 960, 1.7  # 1632 px wide briefing PNG


class ExportError(RuntimeError):
    """The PNG/PDF export could not be made; the message says why."""


class ExportUnavailable(ExportError):
    """Image export cannot run here (no Chromium); the message says how to fix it."""


def find_chromium(path: str | os.PathLike | None = None) -> str:
    """The Chromium executable: `path` if given, else chromium on PATH or /usr/bin/chromium."""
    candidates = [str(path)] if path else [shutil.which("chromium"), shutil.which("chromium-browser"),
                                           "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    where = f" at {path}" if path else ""
    raise ExportUnavailable(f"Image and PDF export needs Chromium, which was not found{where}. "
                            f"Install it with `{INSTALL_HINT}` (the dashboard works without it).")


# --- the briefing page --------------------------------------------------------------------

def esc(text) -> str:
    return html.escape(str(text if text is not None else ""), quote=True)


def _dir(text: str, lang: str | None = None) -> str:
    return "rtl" if lang == "ar" or is_rtl(text or "") else "ltr"


def _text(tag: str, text: str, lang: str | None = None, cls: str = "", after: str = "") -> str:
    """An element around escaped text, right to left for Arabic; `after` is trusted HTML appended."""
    attrs = f' dir="{_dir(text, lang)}"' + (f' class="{cls}"' if cls else "") + (f' lang="{esc(lang)}"' if lang else "")
    return f"<{tag}{attrs}>{esc(text)}{after}</{tag}>"


CSS = f"""
@page {{ size: A4; margin: 12mm 11mm; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; background: white; color: {INK};
  font-family: 'Noto Sans', 'Noto Sans Arabic', 'DejaVu Sans', sans-serif; font-size: 14px; line-height: 1.45; }}
main {{ width: {PAGE_WIDTH}px; padding: 28px 34px 20px; }}
@media print {{ main {{ width: auto; padding: 0; }} }}
h1 {{ font-size: 25px; margin: 0 0 2px; }}
h2 {{ font-size: 17px; margin: 22px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }}
.muted {{ color: {MUTED}; font-size: 12.5px; }}
.figures {{ display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0 4px; }}
.figure {{ border: 1px solid #e5e7eb; border-radius: 8px; padding: 9px 14px; }}
.figure .v {{ font-size: 25px; font-weight: 650; }}
.figure .l {{ font-size: 12px; color: {MUTED}; }}
ol {{ padding-left: 22px; margin: 0; }}
ol li {{ margin: 0 0 8px; }}
figure {{ margin: 14px 0; break-inside: avoid; }}
figure img {{ width: 100%; display: block; border: 1px solid #eceef1; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; break-inside: avoid; }}
th, td {{ text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceef1; }}
th {{ color: {MUTED}; font-weight: 600; }}
.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.article {{ border-left: 4px solid #c9ced6; padding: 4px 12px; margin: 12px 0; break-inside: avoid; }}
.article .t {{ font-weight: 650; font-size: 15px; margin: 0; }}
.article p[dir=rtl] {{ text-align: right; }}
blockquote {{ margin: 4px 0; padding: 2px 10px; background: #f6f7f9; border-radius: 4px; }}
blockquote[dir=rtl] {{ text-align: right; font-size: 15px; }}
footer {{ margin-top: 20px; border-top: 1px solid #e5e7eb; padding-top: 6px; }}
"""


def _figures(b: Briefing) -> str:
    cur, prev = b.figures["current"], b.figures["previous"]
    pct = lambda v: "—" if v is None else f"{v:.0%}"  # noqa: E731
    boxes = [
        ("Mean tone", fmt_tone(cur["tone"]), f"{b.prev_name}: {fmt_tone(prev['tone'])}"),
        ("Relevant articles", f"{cur['articles']:,}",
         f"{b.prev_name}: {prev['articles']:,} · {count(cur['stories'], 'story')}"),
        ("Cooperative", pct(cur["cooperative"]), f"{b.prev_name}: {pct(prev['cooperative'])} · tone ≥ +0.25"),
        ("Tense", pct(cur["tense"]), f"{b.prev_name}: {pct(prev['tense'])} · tone ≤ −0.25"),
    ]
    return '<div class="figures">' + "".join(
        f'<div class="figure"><div class="l">{esc(label)}</div><div class="v">{esc(value)}</div>'
        f'<div class="l">{esc(note)}</div></div>' for label, value, note in boxes) + "</div>"


def _topics(b: Briefing) -> str:
    if b.topics.empty:
        return ""
    pct = lambda v: "—" if v != v else f"{v:.0%}"  # noqa: E731  (NaN != NaN)
    rows = "".join(
        f"<tr><td>{esc(b.labels.get(r.topic, r.topic))}</td><td class=n>{r.n_prev} → {r.n}</td>"
        f"<td class=n>{pct(r.share_prev)} → {pct(r.share)}</td>"
        f"<td class=n>{fmt_tone(r.tone_prev)} → {fmt_tone(r.tone)}</td>"
        f"<td class=n>{fmt_tone(r.contribution)}</td></tr>"
        for r in b.topics.itertuples())
    return (f"<h2>Topics: {esc(b.prev_name)} → {esc(b.name)}</h2><table><tr><th>Main topic</th><th class=n>Articles</th>"
            "<th class=n>Share of relevant articles</th><th class=n>Mean tone</th>"
            "<th class=n>Contribution to the change</th></tr>"
            f"{rows}</table><p class=muted>Contribution: share of the selection × mean tone of the topic, "
            "now minus before; the contributions add up to the change in mean tone.</p>")


def _articles(b: Briefing) -> str:
    out = ["<h2>Most influential articles</h2><p class=muted>Weight = |tone| × confidence, one article per "
           "story; evidence sentences in the original language with their tone.</p>"]
    for a in b.articles:
        color = ORIGIN_COLORS.get(a.origin, "#c9ced6")
        meta = " · ".join(x for x in (a.published, a.source, A.ORIGIN_NAMES.get(a.origin, a.origin),
                                      A.LANG_NAMES.get(a.lang, a.lang), b.labels.get(a.topic, a.topic or ""),
                                      f"tone {signed(a.tone)}", f"confidence {a.confidence:.2f}") if x)
        quotes = "".join(_text("blockquote", e["text"], a.lang,
                               after=f' <span class="muted" dir="ltr">({esc(signed(e["tone"]))})</span>')
                         for e in a.evidence)
        out.append(f'<div class="article" style="border-color:{color}">{_text("p", a.title, a.lang, "t")}'
                   f'<div class="muted">{esc(meta)}</div>{quotes}</div>')
    if not b.articles:
        out.append("<p>No relevant articles in this period.</p>")
    return "".join(out)


def briefing_html(b: Briefing, pngs: Mapping[str, bytes], titles: Mapping[str, str] | None = None) -> str:
    """The whole briefing as one self-contained HTML page (no network access needed)."""
    titles = titles or {}
    statements = "".join(f"<li>{esc(s.text)}<div class=muted>based on: {esc(s.basis)}</div></li>"
                         for s in b.statements)
    images = "".join(f'<figure><img alt="{esc(titles.get(name, name))}" '
                     f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></figure>'
                     for name, png in pngs.items())
    n = b.figures["current"]["articles"]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(TITLE)}</title>'
            f"<style>{CSS}</style></head><body><main>"
            f"<h1>{esc(TITLE)}: {esc(b.name)}</h1><div class=muted>{esc(b.describe())} · "
            f"{esc(count(n, 'relevant article'))}</div>{_figures(b)}"
            f"<h2>Key points</h2><ol>{statements}</ol>{images}{_topics(b)}{_articles(b)}"
            f"<footer class=muted>{esc(SOURCE_NOTE)} · data up to {b.as_of} · generated "
            f"{time.strftime('%Y-%m-%d %H:%M')} · tone of the Morocco–France relationship, relevant articles only"
            "</footer></main></body></html>")


# --- rendering ----------------------------------------------------------------------------

class _Failed(Exception):
    pass


def _check(response: dict, what: str) -> dict:
    if "error" in response:
        raise _Failed(f"{what}: {response['error'].get('message', response['error'])}")
    return response.get("result", {})


async def _print_page(tab, page_html: str, timeout: float) -> tuple[bytes, bytes]:
    """Open the page in the print tab (the charts are done); full-page PNG, then A4 PDF."""
    with tempfile.TemporaryDirectory(prefix="briefing-") as tmp:
        path = Path(tmp) / "briefing.html"
        path.write_text(page_html, encoding="utf-8")
        _check(await tab.send_command("Page.enable"), "Page.enable")
        _check(await tab.send_command("Emulation.setDeviceMetricsOverride", {
            "width": PAGE_WIDTH, "height": 900, "deviceScaleFactor": PAGE_SCALE, "mobile": False}), "viewport")
        loaded = tab.subscribe_once("Page.loadEventFired")
        _check(await tab.send_command("Page.navigate", {"url": path.as_uri()}), "navigate")
        await asyncio.wait_for(loaded, timeout)
        size = _check(await tab.send_command("Page.getLayoutMetrics"), "layout")["cssContentSize"]
        shot = _check(await tab.send_command("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "optimizeForSpeed": True,
            "clip": {"x": 0, "y": 0, "width": PAGE_WIDTH, "height": size["height"], "scale": 1}}), "screenshot")
        _check(await tab.send_command("Emulation.clearDeviceMetricsOverride"), "viewport")
        pdf = _check(await tab.send_command("Page.printToPDF", {
            "printBackground": True, "preferCSSPageSize": True}), "PDF")
        return base64.b64decode(shot["data"]), base64.b64decode(pdf["data"])


def plotlyjs_for(figs) -> str | None:
    """The vendored basic plotly.js when it fits every figure and plotly.py's version; else None (full)."""
    from plotly.offline import get_plotlyjs_version

    try:
        with open(BASIC_JS, encoding="utf-8") as handle:
            header = handle.read(200)  # "plotly.js (basic - minified) v4.1.1"
    except OSError:
        return None
    if f" v{get_plotlyjs_version()}\n" not in header:
        return None
    if any(trace.type not in BASIC_TRACES for fig in figs for trace in fig.data):
        return None
    return str(BASIC_JS)


def _kaleido(**kwargs):
    """A kaleido browser that keeps its tab between figures.

    kaleido reloads its page after every figure, a state reset that costs a plotly.js start-up
    each time; the briefing's figures are independent and come out pixel-identical without it.
    (`_return_kaleido_tab` is kaleido's, pinned in requirements.txt; if it goes, kaleido reloads.)
    """
    import kaleido

    class Kaleido(kaleido.Kaleido):
        async def _return_kaleido_tab(self, tab) -> None:
            await self.tabs_ready.put(tab)

    return Kaleido(**kwargs)


class Renderer:
    """One Chromium kept open for many exports, on its own event loop in a worker thread.

    Starting Chromium and plotly.js is most of an export's time on a slow machine (~8 s of
    ~12 here), so the dashboard keeps one Renderer per server (started when the Briefing page
    opens) and the CLI starts one before it queries the database: an export then pays only for
    drawing. Charts are drawn in kaleido's tab, the briefing page is printed in a second tab,
    so neither has to be reloaded. One export at a time per Renderer (a lock); its private
    event loop never meets Streamlit's or pytest's.
    """

    def __init__(self, chromium: str | os.PathLike | None = None, timeout: float = 60, full_plotlyjs: bool = False):
        self.chromium = find_chromium(chromium)  # no Chromium: ExportUnavailable right away
        self.timeout = timeout
        self.plotlyjs = None if full_plotlyjs else plotlyjs_for([])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="briefing-render", daemon=True)
        self._thread.start()
        self._browser = self._print_tab = self._lock = None
        self._opened = asyncio.run_coroutine_threadsafe(self._open(), self._loop)  # starts now
        self._closed = False
        atexit.register(self.close)  # no Chromium left behind by a server that stops

    async def _open(self) -> None:
        from choreographer.errors import BrowserFailedError, ChromeNotFoundError

        try:
            # MathJax off: it would be fetched from a CDN, and no chart uses LaTeX.
            self._browser = _kaleido(path=self.chromium, mathjax=False, plotlyjs=self.plotlyjs, timeout=self.timeout)
            await self._browser.open()
            self._print_tab = await self._browser.create_tab("")
            # plotly.js's first figure sets itself up (~1 s here): done now, before anyone waits.
            await self._browser.calc_fig({"data": [{"type": "scatter", "x": [0], "y": [0]}], "layout": {}},
                                         opts={"format": "png", "width": 40, "height": 40})
        except (ChromeNotFoundError, BrowserFailedError) as exc:
            raise ExportUnavailable(f"Chromium at {self.chromium} could not be started ({exc}). "
                                    f"Reinstall it with `{INSTALL_HINT}`.") from exc
        self._lock = asyncio.Lock()

    def _run(self, coro):
        """Run a coroutine on the renderer's loop and wait; rendering failures become ExportError."""
        from kaleido.errors import BrowserClosedError, JavascriptError, KaleidoError

        try:
            self._opened.result(timeout=self.timeout + 30)
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result()
        except (_Failed, TimeoutError, BrowserClosedError, JavascriptError, KaleidoError) as exc:
            raise ExportError(f"Chromium could not render the briefing: {exc!r}") from exc
        finally:
            coro.close()  # never started (the browser failed to open): no "never awaited" warning

    async def _draw(self, figs: Mapping[str, object], make_page: Callable | None):
        async with self._lock:
            pngs = {}
            for name, fig in figs.items():
                pngs[name] = await self._browser.calc_fig(fig, opts={
                    "format": "png", "width": CHART_WIDTH, "height": fig.layout.height or 600, "scale": CHART_SCALE})
            page = await _print_page(self._print_tab, make_page(pngs), self.timeout) if make_page else None
            return pngs, page

    def draw(self, figs: Mapping[str, object], make_page: Callable | None = None):
        """Chart PNGs by name and, with `make_page(pngs) -> html`, that page's (PNG, PDF)."""
        if self.plotlyjs and plotlyjs_for(figs.values()) is None:  # a trace the basic bundle lacks
            with Renderer(self.chromium, self.timeout, full_plotlyjs=True) as full:
                return full.draw(figs, make_page)
        return self._run(self._draw(figs, make_page))

    def alive(self) -> bool:
        return self._thread.is_alive() and not (self._opened.done() and self._opened.exception())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)

        async def shut():
            if self._browser is not None:
                await self._browser.close()

        try:
            if self._opened.done() and not self._opened.exception():
                asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=15)
        except Exception:  # noqa: BLE001 - closing a browser that already died
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def chart_pngs(figs: Mapping[str, object], chromium: str | None = None, timeout: float = 60,
               renderer: Renderer | None = None) -> dict[str, bytes]:
    """PNG bytes per figure (CHART_WIDTH × CHART_SCALE px wide), one browser for all of them."""
    if renderer is not None:
        return renderer.draw(figs)[0]
    with Renderer(chromium, timeout) as own:
        return own.draw(figs)[0]


@dataclass
class Export:
    files: dict[str, bytes]  # file name → content, in reading order
    seconds: float

    def write(self, out_dir: str | os.PathLike) -> list[Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, data in self.files.items():
            (out / name).write_bytes(data)
            paths.append(out / name)
        return paths


def _title(fig) -> str:
    return str(fig.layout.title.text or "").replace("<b>", "").replace("</b>", "")


def export_briefing(b: Briefing, charts: list[Chart], chromium: str | None = None, timeout: float = 60,
                    renderer: Renderer | None = None) -> Export:
    """Chart PNGs, the briefing PNG and PDF, and the Markdown summary; `seconds` is the whole export
    (including Chromium's start when no running `renderer` is given)."""
    started = time.perf_counter()
    titles = {c.name: _title(c.fig) for c in charts}
    figs = {c.name: c.fig for c in charts}
    make_page = lambda images: briefing_html(b, images, titles)  # noqa: E731
    if renderer is not None:
        pngs, (png, pdf) = renderer.draw(figs, make_page)
    else:
        with Renderer(chromium, timeout) as own:
            pngs, (png, pdf) = own.draw(figs, make_page)
    files = {f"{b.slug}-{name}.png": data for name, data in pngs.items()}
    files[f"{b.slug}.png"], files[f"{b.slug}.pdf"] = png, pdf
    files[f"{b.slug}.md"] = to_markdown(b, {titles[c.name]: f"{b.slug}-{c.name}.png" for c in charts}).encode()
    return Export(files, time.perf_counter() - started)
