"""Code generation (see the codegen issue)."""
