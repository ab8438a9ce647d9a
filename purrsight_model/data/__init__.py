"""Datasets for training: JSONL rows, converters from shared-data layouts, feature cache.

Modules (import them directly; this package imports nothing eagerly):
``jsonl`` (lazy offset-indexed JSONL, ``Row``), ``converters`` + ``labelmap`` + ``captions``
+ ``splits`` (shared/data -> align/instruct JSONL), ``feature_store`` (``FeatureCache``),
``feature_cache`` (``build_cache``), ``feature_batch`` (``load_split``), and the CLI
subcommands ``cli_convert`` and ``cli_features``.
"""
