"""Suite-wide settings. Torch compute runs in fp32 so exact comparisons (save/load, batch vs single text,
explanations vs predictions) hold on every CPU; bf16 autocast is tested explicitly in tests/test_runtime.py."""
import os

os.environ.setdefault("TEXTLAB_PRECISION", "fp32")
