"""Goal / observation encoders, registered in hirl.registry.ENCODERS.

    "text"   MiniLMEncoder    frozen all-MiniLM-L6-v2, str -> (384,) unit vector (numpy; cached in memory and on disk)
    "hash"   HashTextEncoder  TEST/FALLBACK bag-of-words hashing text encoder (no semantics; only when asked for)
    "image"  ImageEncoder     small CNN, float (B, 3, H, W) in [0, 1] -> (B, D), trained with the policy
    "state"  StateEncoder     MLP with fitted input normalisation, (B, S) -> (B, D)

TextEncoder (hirl.encoders.text) is the Protocol both text encoders satisfy; annotate with it.
text_factory.py picks / checks a model's text encoder; commands.py turns Commands into padded subtask embeddings.
Importing this package does not import sentence-transformers; the text model loads on first encode.
"""
from hirl.encoders.image import ImageEncoder, image_to_tensor, images_to_float
from hirl.encoders.state import StateEncoder
from hirl.encoders.text import MINILM_DIM, HashTextEncoder, MiniLMEncoder, TextEncoder, load_minilm, validate_texts

__all__ = [
    "MINILM_DIM", "HashTextEncoder", "ImageEncoder", "MiniLMEncoder", "StateEncoder", "TextEncoder", "image_to_tensor",
    "images_to_float", "load_minilm", "validate_texts",
]
