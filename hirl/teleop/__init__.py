"""Correction and demonstration sessions: the scripted corrector, the correction journal, the language-correction
DAgger loop (roll out -> correct the high level -> fine-tune it, low level frozen -> evaluate), and the live
web / terminal sessions (`hirl correct`, `hirl teleop`). See docs/corrections.md."""
