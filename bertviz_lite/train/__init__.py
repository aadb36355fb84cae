"""Fine-tuning the task models (sentiment, topic, NER) on data from PyPI packages."""
