# The official magic-hour release whose surface this package is a drop-in for, then our own release as a
# PEP 440 local label. Why: every requirement written for the official package (==0.90.0, ~=0.90.0,
# >=0.90,<0.91) is satisfied by ours, and pip sees it as newer than 0.90.0 (installing our wheel over the
# official one is an upgrade, and `pip install -U magic-hour` does not replace it with the index's
# 0.90.0); a local label can never be published to the package index, so our version can never be the
# same as one of the official releases there. The public part moves with the official surface we follow.
__version__ = "0.90.0+dropin.1"
