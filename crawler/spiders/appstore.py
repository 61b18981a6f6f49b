from .base import ProfileSpider


class AppstoreSpider(ProfileSpider):
    """App stores: JSON search APIs and category lists lead to app pages."""

    name = "appstore"
    kind = "appstore"
