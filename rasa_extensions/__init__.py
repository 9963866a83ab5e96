"""Components that run inside the Rasa server (not the action server): privacy-preserving
tracker storage, and (later) NLU components."""
