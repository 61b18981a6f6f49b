"""One spider per listing kind; every platform detail comes from a site profile."""
from .appstore import AppstoreSpider
from .ecommerce import EcommerceSpider
from .forum import ForumSpider

SPIDERS = {cls.name: cls for cls in (EcommerceSpider, AppstoreSpider, ForumSpider)}
