"""The demo: synthetic videos with known captions (``synthetic``) and a ready-to-search demo
library built from them with the bundled demo model (``library``)."""
