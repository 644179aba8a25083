"""Correction and demonstration sessions, in two parts; imports go only ui -> sessions.

    hirl.teleop.sessions   what a session does: the scripted corrector, the correction journal, the language-correction
                           DAgger loop (roll out -> correct the high level -> fine-tune it, low level frozen -> evaluate),
                           teleoperated takeovers, the live correction / teleop sessions and their episode store
    hirl.teleop.ui         how a person reaches a live session: the local HTTP server and its page (ui/static/), the
                           terminal (`hirl correct`, `hirl teleop`)

See docs/corrections.md."""
