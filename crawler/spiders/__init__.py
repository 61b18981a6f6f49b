"""One spider per listing kind; every platform detail comes from a site profile."""
from .appstore import AppstoreSpider
from .code import CodeSpider
from .ecommerce import EcommerceSpider
from .forum import ForumSpider
from .social import SocialSpider

SPIDERS = {cls.name: cls for cls in (EcommerceSpider, AppstoreSpider, ForumSpider, CodeSpider, SocialSpider)}
