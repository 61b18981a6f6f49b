"""The model artifact: a skops file plus a JSON card with versions, corpus hash, metrics and thresholds.

Loading refuses an artifact it cannot trust: a digest that does not match the card, a
type skops would have to import that is not on our allow-list, or library versions other
than the ones it was built with (a pickle-like file across sklearn versions is undefined).
"""
from __future__ import annotations

import hashlib
import json
import platform
from importlib.metadata import version
from pathlib import Path

import skops.io as sio

from common.errors import SweepError

ARTIFACT_DIR = Path(__file__).parent / "artifacts"
DEFAULT_MODEL = ARTIFACT_DIR / "model.skops"
PINNED = ("scikit-learn", "skops", "numpy", "scipy", "jieba", "pypinyin")
# skops lists every type it would import beyond its defaults; we allow our own feature functions
# and scikit-learn's private helpers (e.g. sklearn.calibration._SigmoidCalibration), nothing else.
TRUSTED_PREFIXES = ("classifier.features.", "classifier.estimator.", "sklearn.", "scipy.sparse._csr.csr_matrix",
                    "scipy.sparse._csc.csc_matrix")


class ArtifactError(SweepError, RuntimeError):
    pass


def library_versions() -> dict[str, str]:
    found = {name: version(name) for name in PINNED}
    found["python"] = ".".join(platform.python_version_tuple()[:2])
    return found


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def save(pipeline, card: dict, path: Path = DEFAULT_MODEL) -> dict:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".skops.tmp")
    sio.dump(pipeline, tmp)
    card = {**card, "versions": library_versions(), "sha256": sha256_file(tmp)}
    card_tmp = card_path(path).with_suffix(".json.tmp")
    card_tmp.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)            # model first, card last: a card always describes the file beside it
    card_tmp.replace(card_path(path))
    return card


def load(path: Path = DEFAULT_MODEL):
    """(pipeline, card) — or ArtifactError saying why the file is refused and how to rebuild it."""
    path = Path(path)
    hint = "rebuild it with `sweep train` (or `make model`)"
    if not path.exists() or not card_path(path).exists():
        raise ArtifactError(f"no model at {path}: {hint}")
    card = json.loads(card_path(path).read_text(encoding="utf-8"))
    if sha256_file(path) != card.get("sha256"):
        raise ArtifactError(f"{path} does not match its card {card_path(path).name} (digest differs): {hint}")
    built, here = card.get("versions", {}), library_versions()
    mismatched = {k: (built.get(k), v) for k, v in here.items() if built.get(k) != v}
    if mismatched:
        detail = ", ".join(f"{k} {a} (built) vs {b} (installed)" for k, (a, b) in mismatched.items())
        raise ArtifactError(f"{path} was built for other library versions: {detail}; {hint}")
    untrusted = sio.get_untrusted_types(file=path)
    foreign = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if foreign:
        raise ArtifactError(f"{path} needs types Sweep does not trust: {', '.join(foreign)}")
    return sio.load(path, trusted=untrusted), card
