from .base import ProfileSpider


class EcommerceSpider(ProfileSpider):
    """Marketplace items: search and category lists, item pages (some need a browser)."""

    name = "ecommerce"
    kind = "ecommerce"
