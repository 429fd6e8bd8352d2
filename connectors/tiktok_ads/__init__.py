"""TikTok Ads (Business API v1.3): a plug-in connector registered through the `mdp.connectors` entry point."""
