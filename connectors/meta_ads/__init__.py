"""Meta Ads: ad-level daily insights through the official `facebook-business` SDK (async report runs)."""
