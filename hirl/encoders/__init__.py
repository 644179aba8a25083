"""Goal / observation encoders, registered in hirl.registry.ENCODERS.

    "text"   TextEncoder      frozen all-MiniLM-L6-v2, str -> (384,) unit vector (numpy; cached in memory and on disk)
    "hash"   HashTextEncoder  TEST/FALLBACK bag-of-words hashing text encoder (no semantics; only when asked for)
    "image"  ImageEncoder     small CNN, float (B, 3, H, W) in [0, 1] -> (B, D), trained with the policy
    "state"  StateEncoder     MLP with fitted input normalisation, (B, S) -> (B, D)

Importing this package does not import sentence-transformers; the text model loads on first encode.
"""
from hirl.encoders.image import ImageEncoder, image_to_tensor
from hirl.encoders.state import StateEncoder
from hirl.encoders.text import MINILM_DIM, HashTextEncoder, TextEncoder, load_minilm, validate_texts

__all__ = [
    "MINILM_DIM", "HashTextEncoder", "ImageEncoder", "StateEncoder", "TextEncoder", "image_to_tensor", "load_minilm",
    "validate_texts",
]
