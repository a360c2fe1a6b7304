

def test_importing_core_caps_onednn_primitive_cache_unless_set():
    """A long MiniLM run grew to 4.7 GB through oneDNN's per-shape primitive cache (1,024 by default); importing
    core sets a small cache before torch makes its first primitive, and keeps a value the user set."""
    import os
    import subprocess
    import sys

    code = "import os, core; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "8"
    env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = "256"
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "256"
