"""What a correction or teleop session does, without a UI: configs, the scripted corrector and person, the correction
journal and recorder, takeovers, skill grounding of typed text, the live sessions (LiveSession, CorrectionSession,
TeleopSession) with their frames, cues and keys, the episode store and the scripted correction loop."""
