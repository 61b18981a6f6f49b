"""Forum threads: the first post is the listing; later pages add replies (quotes stripped)."""
from .paged import PagedListingSpider


class ForumSpider(PagedListingSpider):
    name = "forum"
    kind = "forum"
    more_field = "replies"

    def complete(self, listing, page, response):
        listing.extra["replies"] = listing.extra.get("replies", [])[1:]   # [0] is the first post itself
        yield from super().complete(listing, page, response)
