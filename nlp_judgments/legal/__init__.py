"""Legal knowledge, without any ML stack: the label schema, lexicons, normalisers, the rule
pre-labeller and case records. ``import nlp_judgments.legal.records`` loads neither torch nor
transformers (an import-linter contract keeps it so)."""
