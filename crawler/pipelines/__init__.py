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
