"""LinkedIn Ads connector: the Marketing API's versioned REST endpoints (ad accounts, ad analytics) over httpx."""
