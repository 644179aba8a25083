"""How a person reaches a live session (hirl.teleop.sessions): the local HTTP server (server.py, its connection
places slots.py) serving the page (static/), and the terminal (terminal.py, its text view scene_text.py)."""
