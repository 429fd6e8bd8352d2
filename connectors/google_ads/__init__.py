"""Google Ads: ad-level daily performance through the official `google-ads` client (GAQL search_stream)."""
