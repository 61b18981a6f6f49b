"""Operations: one crawl-classify-takedown cycle, the cron schedule and the locks that keep runs apart."""
