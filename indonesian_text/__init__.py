"""Values in Indonesian chat text (dates, for now), shared by the NLU pipeline and the action server.

Pure Python without dependencies, so both the Rasa server and the action server can ship it.
"""
