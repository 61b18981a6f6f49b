"""Forum threads: the first post is the listing; later pages add replies (quotes stripped)."""
from .base import ProfileSpider


class ForumSpider(ProfileSpider):
    name = "forum"
    kind = "forum"
    REQUEST_CALLBACKS = ProfileSpider.REQUEST_CALLBACKS | {"parse_thread_page", "_partial"}

    def complete(self, listing, page, response):
        listing.extra["replies"] = listing.extra.get("replies", [])[1:]   # [0] is the first post itself
        yield from self._follow(listing, page, 1)

    def _follow(self, listing, page, n):
        max_pages = self.profile.listing.get("max_pages", 20)
        nxt = page.next_links() if n < max_pages else []
        if not nxt:
            yield listing
            return
        yield self.request(nxt[0], self.parse_thread_page, listing=listing, thread_page=n + 1).replace(
            errback=self._partial)     # a method, not a closure: the frontier stores the request

    def parse_thread_page(self, response):
        from ..extract import ListingPage

        page = self.page(ListingPage, response)
        page.strip_quotes()
        listing = response.meta["listing"]
        listing.extra["replies"].extend(page.field("replies"))
        yield from self._follow(listing, page, response.meta["thread_page"])

    def _partial(self, failure):
        """A later page failed: keep what the thread had so far rather than lose the listing."""
        self.on_error(failure)
        self.crawler.stats.inc_value(f"sweep/{self.profile.name}/partial_threads")
        yield failure.request.meta["listing"]
