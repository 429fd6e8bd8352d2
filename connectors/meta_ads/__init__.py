"""Meta Ads: daily insights (ad level, campaign breakdowns, actions by attribution window) and entity snapshots
through the official `facebook-business` SDK (async report runs, paged Graph edges)."""
