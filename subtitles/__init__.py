"""Words and time: transcription engines, transcript models, cue layout, subtitle formats.

Nothing here imports Prefect or reads settings; every function takes its options as arguments.
"""
