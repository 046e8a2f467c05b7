"""The knowledge base: documents in, the right sections back out.

This package never imports ``bot``: it is the corpus layer that the answering core, the chat
adapters and the evaluation build on.
"""
