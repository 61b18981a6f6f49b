"""Item pipeline stages, one per module, and the one list that orders them.

``STAGES`` feeds Scrapy's ``ITEM_PIPELINES`` (crawler/settings.py) and `sweep ingest`
(crawler/distributed/ingest.py, through :func:`build_stages`), so a listing stored by a crawl and one
stored by workers + ingest went through the same classes in the same order:
validate → normalise → schema → dedupe/version → classify → store.
"""
from __future__ import annotations

from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import build_from_crawler, load_object

STAGES = [
    ("crawler.pipelines.validate.ValidatePipeline", 100),
    ("crawler.pipelines.normalise.NormalisePipeline", 200),
    ("crawler.pipelines.schema.ListingValidationPipeline", 250),     # crawler/schemas/listing.json
    ("crawler.pipelines.dedupe.DedupePipeline", 300),
    ("crawler.pipelines.classify.ClassifyPipeline", 400),
    ("crawler.pipelines.store.StorePipeline", 500),
]


# A `sweep worker` runs the stages before this order and hands each listing to Redis; `sweep ingest`
# runs the whole list again (validate and normalise are idempotent), so the schema check and what
# follows count in the run's stats, and a worker needs no database or model.
WORKER_BEFORE = 250


def worker_stages() -> dict[str, int]:
    """The ITEM_PIPELINES entries a worker runs before its Redis stage."""
    return {path: order for path, order in STAGES if order < WORKER_BEFORE}


def build_stages(crawler, stages=STAGES) -> list:
    """The stages built as Scrapy builds them (``from_crawler``, else the plain constructor), in order;
    a stage that raises NotConfigured is left out, as Scrapy leaves it out."""
    built = []
    for path, _ in sorted(stages, key=lambda stage: stage[1]):
        try:
            built.append(build_from_crawler(load_object(path), crawler))
        except NotConfigured:
            continue
    return built
