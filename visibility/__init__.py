"""搜不到: what a platform's search still shows (`sweep audit-search`).

    variants.py  evasive spellings of each keyword, generated from the normaliser's own tables
    fetch.py     plain fetches under the crawler's allow-list, address checks, robots.txt and delay
    audit.py     runs the queries, classifies what comes back, stores one row per query
    report.py    the per-platform table, JSON, and the dated HTML compliance report
"""
