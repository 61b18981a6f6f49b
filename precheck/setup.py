"""A Checker for a database and ``[check]`` settings: the model, the banks and how to reload them.

One function, so the server process (``workers = 0``) and each worker process (precheck/pool.py)
build exactly the same checker from the same plain arguments.
"""
from __future__ import annotations


def make_checker(db_path: str, config: dict, model_path: str | None = None):
    """(checker, load_banks, refresh seconds) — ``config`` is the loaded config's data (a plain dict)."""
    from classifier.artifact import DEFAULT_MODEL
    from classifier.predict import Classifier
    from common.config import Config
    from store.db import open_db

    from precheck.banks import Banks
    from precheck.decide import Checker

    cfg = Config(config)
    sect, relist = cfg.section("check"), cfg.section("relist")
    num_perm, threshold = int(relist.get("num_perm", 128)), float(relist.get("text_threshold", 0.6))

    def load_banks():
        db = open_db(db_path)
        try:
            return Banks.load(db, num_perm, threshold)
        finally:
            db.close()

    checker = Checker(Classifier.load(model_path or DEFAULT_MODEL), load_banks(),
                      decisions=dict(sect.get("decisions", {})), block_score=float(sect.get("block_score", 0.9)))
    return checker, load_banks, float(sect.get("bank_refresh_seconds", 60))
