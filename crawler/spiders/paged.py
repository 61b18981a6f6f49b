"""Listings spread over several pages: the first page is the listing, the pages its
``listing.next`` selector leads to add to one list field (a thread's replies, a channel's older posts)."""
from ..extract import ListingPage
from .base import ProfileSpider


class PagedListingSpider(ProfileSpider):
    more_field = ""          # the list field later pages extend
    REQUEST_CALLBACKS = ProfileSpider.REQUEST_CALLBACKS | {"parse_more_page", "_partial"}

    def complete(self, listing, page, response):
        listing.extra.setdefault(self.more_field, [])
        yield from self._follow(listing, page, 1)

    def _follow(self, listing, page, n):
        max_pages = self.profile.listing.get("max_pages", 20)
        nxt = page.next_links() if n < max_pages else []
        if not nxt:
            yield listing
            return
        yield self.request(nxt[0], self.parse_more_page, listing=listing, more_page=n + 1).replace(
            errback=self._partial)     # a method, not a closure: the frontier stores the request

    def parse_more_page(self, response):
        page = self.page(ListingPage, response)
        page.strip_quotes()
        listing = response.meta["listing"]
        listing.extra[self.more_field].extend(page.field(self.more_field))
        yield from self._follow(listing, page, response.meta["more_page"])

    def _partial(self, failure):
        """A later page failed: keep what the listing had so far rather than lose it."""
        self.on_error(failure)
        self.crawler.stats.inc_value(f"sweep/{self.profile.name}/partial_listings")
        yield failure.request.meta["listing"]
