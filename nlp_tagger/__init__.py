"""nlp-tagger: find the evidence for each indicator of an assessment framework in a submission.

    >>> import nlp_tagger
    >>> cov = nlp_tagger.check("report.pdf", "concordat-2019")
    >>> [c.indicator.id for c in cov.indicators if c.status == "none"]
"""

__version__ = "0.1.0"

from .errors import FrameworkError, InputError, LabelError, ModelError, NlpTaggerError  # noqa: E402
from .frameworks import load_framework  # noqa: E402
from .ingest import extract  # noqa: E402
from .pipeline import check  # noqa: E402
from .segment import segment  # noqa: E402

__all__ = ["check", "extract", "segment", "load_framework", "NlpTaggerError", "InputError", "FrameworkError", "LabelError", "ModelError", "__version__"]
