"""Public channel pages (t.me/s-style): the channel is the listing; "load older" pages add posts."""
from .paged import PagedListingSpider


class SocialSpider(PagedListingSpider):
    name = "social"
    kind = "social"
    more_field = "posts"
