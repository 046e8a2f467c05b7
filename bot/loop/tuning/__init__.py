"""Training the house tone: approved answers out as fine-tuning files, fine-tuning jobs at an
OpenAI-compatible API, and a side-by-side comparison of two models on held-out examples."""
