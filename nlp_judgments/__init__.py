"""nlp_judgments: entity tagging and structured records for Chinese criminal judgments.

Public entry points (imported lazily, so ``import nlp_judgments`` stays cheap):

- ``nlp_judgments.Tagger``: ``Tagger.load(model_dir).tag(texts)`` -> entities with character offsets;
- ``nlp_judgments.training.loop.train(config)`` and ``nlp_judgments.training.config.load_config(path, overrides)``;
- ``nlp_judgments.tagging.evaluate.evaluate(model_dir, data, fmt)``.
"""

__version__ = "0.1.0"

__all__ = ["Tagger", "Entity", "__version__"]


def __getattr__(name: str):
    if name in ("Tagger", "Entity"):
        from nlp_judgments.tagging import tagger

        return getattr(tagger, name)
    raise AttributeError(f"module 'nlp_judgments' has no attribute {name!r}")
