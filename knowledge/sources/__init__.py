"""Sources that stay in sync: named origins of documents (websites, Confluence spaces…), one
connector module per kind behind ``SourceConnector``, synced incrementally by ``SourceSync``."""
