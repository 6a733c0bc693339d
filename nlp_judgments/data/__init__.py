"""Data in and out: training formats (``formats/``: CAIL2021/2022, CoNLL, Label Studio, our spans,
``datasets`` tables with their ``columns``), labelled documents through a label map (``documents``),
and corpus input for tagging (``inputs``). No torch."""
