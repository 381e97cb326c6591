"""Theme model: embeddings -> named, quotable themes.

Method (see ``docs/themes.md``):

1. **Reduce** the L2-normalised embeddings with UMAP (cosine metric,
   ``min_dist=0``, seeded, so single-threaded and deterministic).
2. **Cluster** the reduced points with HDBSCAN (``min_samples`` smaller than
   ``min_cluster_size``, excess-of-mass selection). Themes are renumbered
   ``0..k-1`` by size, largest first; ``-1`` is noise.
3. **Merge duplicate themes** (one complaint split by language or
   phrasing): centroids whose cosine similarity is at least
   ``merge_zscore`` standard deviations above the mean over all theme pairs
   merge, before anything else is derived from the themes.
4. **Outlier policy** (the same rule in :meth:`ThemeModel.fit` and
   :meth:`ThemeModel.assign`): a point is compared with the clustered training
   points ("references", kept in the original embedding space). Its
   ``n_assign_neighbors`` most similar references vote, weighted by cosine
   similarity. The point joins the winning theme when the winner's vote share
   is at least ``outlier_threshold`` *and* the point is as close to its
   neighbours as a typical member of that theme (mean neighbour similarity at
   least the ``noise_quantile`` quantile of the members' own values).
   Otherwise it stays noise (``-1``). ``theme_prob`` is the vote share.
5. **Label** every theme with class-based TF-IDF over keyword tokens
   (``tf(w, theme) * log(1 + mean words per theme / freq(w))``), and pick
   representative quotes closest to the theme centroid.

6. **Topics**: leaf themes are grouped into parent topics by their centroids
   (:mod:`voc.themes.hierarchy`); ``topic_of_`` maps themes to topics and
   ``topics_`` describes them like ``themes_``.

Analyst edits (rename / merge / delete themes; rename / merge topics, move a
theme to another topic) are replayed on top of the fitted model and kept
with it by :meth:`ThemeModel.save`.

The package, one job per module: ``model`` (the :class:`ThemeModel`
facade), ``cluster`` (steps 1-3), ``assign`` (step 4), ``labels`` and
``tables`` (step 5, the themes and topics tables), ``hierarchy`` (step 6),
``edits``, ``state`` (the learned arrays), ``persist`` (model files),
``summary`` (per-theme summaries), and the code frame: ``taxonomy``
(``codeframe``, ``seeds``, ``coverage``). This module re-exports the public
names.
"""

from __future__ import annotations

from .assign import DUPLICATE_SIMILARITY, top_k
from .cluster import COHESION_TRIM, default_min_theme_size
from .edits import load_edits
from .labels import c_tf_idf
from .model import ThemeModel
from .params import PARAMETER_RULES
from .persist import ARRAYS_NPZ, FORMAT, FORMAT_VERSION, MODEL_JSON
from .state import NOISE, ThemeState
from .tables import EXEMPLAR_SEPARATOR, KEYWORD_SEPARATOR, LABEL_SEPARATOR

_top_k = top_k  # the name tests of earlier versions import

__all__ = ["ThemeModel", "load_edits", "c_tf_idf", "default_min_theme_size", "top_k",
           # names the single module voc/themes.py had, re-exported for existing imports
           "DUPLICATE_SIMILARITY", "COHESION_TRIM", "PARAMETER_RULES", "ARRAYS_NPZ", "FORMAT", "FORMAT_VERSION",
           "MODEL_JSON", "NOISE", "ThemeState", "EXEMPLAR_SEPARATOR", "KEYWORD_SEPARATOR", "LABEL_SEPARATOR"]
