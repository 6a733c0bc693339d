"""Applications on top of the tagger and the rules: corpus tagging (``corpus``), the HTTP server
(``server``), the review page (``review``), training curves (``curves``) and the demo (``demo``)."""
