"""Evaluation: run questions with known answers through retrieval and the answer flow."""
