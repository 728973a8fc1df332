"""Anomaly detection: detectors (pure) and their evaluation.

Modules:

* :mod:`costline.anomaly.nab` scores a detector on the Numenta Anomaly Benchmark (NAB):
  anomaly windows, a scaled sigmoid, a probationary period, three cost profiles and a score
  normalized between the null detector (0) and the perfect detector (100).
* :mod:`costline.anomaly.nab_corpus` reads a NAB folder (``data/`` CSVs and
  ``labels/combined_windows.json``) into :class:`costline.anomaly.nab.NabFile` objects.

The package is pure Python: it reads plain sequences and never touches the warehouse.
"""

from __future__ import annotations
