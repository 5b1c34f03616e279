"""fraudloop's models: plain PyTorch and NumPy, arrays in, arrays or metrics out; never Django."""
