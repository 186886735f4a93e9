"""Text analytics of comments in Turkish and English: stemming, topics, sentiment and search,
computed on the platform's own machines."""
