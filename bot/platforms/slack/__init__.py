"""The Slack adapter: events and commands in, Block Kit replies out."""
