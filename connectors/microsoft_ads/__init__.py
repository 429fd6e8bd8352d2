"""Microsoft Advertising (Bing Ads) connector: Reporting service reports through the official bingads SDK."""
