from .base import ProfileSpider


class CodeSpider(ProfileSpider):
    """Code hosts: search APIs (paged by Link headers) and explore pages lead to repository pages;
    the README is the description, topics, stars and release file names go to ``extra``."""

    name = "code"
    kind = "code"
